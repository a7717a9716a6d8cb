-- Runs once, when the docker-compose.kafka.yml Postgres volume is first initialized
-- (POSTGRES_USER=metronis already created the role and the `metronis` database).
-- `apicurio` is the schema registry's SQL storage, so schema ids survive registry restarts.
CREATE DATABASE apicurio OWNER metronis;
