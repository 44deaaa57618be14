-- One database per service that keeps state (docker-compose.yml mounts this into
-- postgres's /docker-entrypoint-initdb.d; it runs once, on an empty data volume).
CREATE DATABASE shoptrail_activity;
CREATE DATABASE shoptrail_fulfilment;
CREATE DATABASE shoptrail_notifier;
