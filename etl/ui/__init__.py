"""Views on the pipeline for people: the Leveringen page in the Airflow UI (see plugins/)."""
