"""Airflow plugin: the "Leveringen" page (partner x quarter) in the UI's navigation.

Loaded by the embedded stack (scripts/airflow-run.sh sets AIRFLOW__CORE__PLUGINS_FOLDER
to this folder) and by docker-compose.yaml (mounted at /opt/airflow/plugins). The app
itself, with its own authentication check, is etl.ui.app; this file only registers it:
``fastapi_apps`` mounts it under /leveringen in the api-server, ``external_views`` puts
a "Leveringen" entry in the navigation that shows the page inside the UI.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from etl.ui.app import create_app, warm_up_in_api_server

warm_up_in_api_server()


class LeveringenPlugin(AirflowPlugin):
    name = "leveringen"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/leveringen", "name": "Leveringen"}]
    external_views = [{
        "name": "Leveringen",
        "href": "/leveringen/",
        "destination": "nav",
        "url_route": "leveringen",
    }]
