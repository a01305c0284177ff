# Production image of the Groningen Veilig Thuis monitor: the official Airflow image plus
# the project's pinned dependencies and code. Built by `docker compose build` (see
# docs/deploy.md); every Airflow service of docker-compose.yaml runs this image.
FROM apache/airflow:3.3.2-python3.11

# The official image installs Python packages as the `airflow` user (never as root).
USER airflow
WORKDIR /opt/airflow/project

# 1. Dependencies from the lock file only, so that code changes reuse this layer.
#    apache-airflow is pinned in the lock to the image's version (3.3.2), so pip cannot
#    up- or downgrade Airflow itself here.
COPY --chown=airflow:0 requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

# 2. The project. `include/` (reference data, sources.yaml) and `expectations/` (GX
#    suites) are looked up next to the `etl` package (etl/sources.py INCLUDE_DIR,
#    etl/validate.py EXPECTATIONS_DIR), so the source tree stays together in
#    /opt/airflow/project.
#    README.m[d] is a glob so that the build also works while there is no README yet.
COPY --chown=airflow:0 pyproject.toml README.m[d] ./
COPY --chown=airflow:0 etl/ ./etl/
COPY --chown=airflow:0 include/ ./include/
COPY --chown=airflow:0 expectations/ ./expectations/
RUN pip install --no-cache-dir --no-deps . && rm -rf build ./*.egg-info

# A non-editable install puts a copy of `etl` in site-packages, where
# Path(__file__).parent.parent is site-packages and has no include/. Putting the source
# tree first on the path makes `import etl` resolve to /opt/airflow/project/etl.
ENV PYTHONPATH=/opt/airflow/project

# 3. The DAGs are baked into the image (not mounted): the DAGs folder is the default
#    /opt/airflow/dags, set explicitly in docker-compose.yaml as well.
COPY --chown=airflow:0 dags/ /opt/airflow/dags/

# Fail the build, not the first run, when the layout is wrong, the FAB auth manager
# (used by docker-compose.yaml, preinstalled in the official image) went missing, or the
# Celery executor cannot be imported (celery 5.7.0 broke celery provider 3.26.0: pin
# celery<5.7 in the lock).
RUN python -c "import etl.core.config as c; \
p = c.PROJECT_DIR; \
assert (p / 'include').is_dir() and (p / 'expectations').is_dir(), f'include/, expectations/ not next to etl: {p}'; \
print('etl project dir:', p)" \
 && python -c "from importlib.metadata import version; \
names = ['apache-airflow', 'apache-airflow-providers-fab', 'apache-airflow-providers-celery', \
         'apache-airflow-providers-postgres', 'apache-airflow-providers-smtp']; \
print({n: version(n) for n in names}); \
assert version('apache-airflow') == '3.3.2', 'the lock moved Airflow off 3.3.2'" \
 && python -c "import airflow.providers.celery.executors.celery_executor"

WORKDIR /opt/airflow
