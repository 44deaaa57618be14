"""Who may do what on the bus (acl.py), how every client is told who it is (kafka_access.py),
and that the services' own defaults agree with the grants."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from shoptrail.activity.config import Settings as ActivitySettings
from shoptrail.events import topics
from shoptrail.events.acl import bus_users, may, producer_of
from shoptrail.events.catalog import CONSUMERS, PRODUCERS
from shoptrail.events.kafka_access import KafkaAccess, faststream_security, kafka_client_options
from shoptrail.fulfilment.config import Settings as FulfilmentSettings
from shoptrail.ingest.config import Settings as IngestSettings
from shoptrail.notifier.config import Settings as NotifierSettings

PASSWORD = "s3cret-Kafka-password-0123456789"


class TestTheGrants:
    def test_each_event_topic_is_written_by_its_producer_alone(self) -> None:
        for topic in PRODUCERS:
            writers = {user for user in bus_users() if may(user, "WRITE", "topic", topic)}
            assert writers == {producer_of(topic)}, topic

    def test_ingest_may_not_write_fulfilment(self) -> None:
        assert may("ingest", "WRITE", "topic", topics.INGEST)
        assert not may("ingest", "WRITE", "topic", topics.FULFILMENT)

    def test_a_consumer_reads_its_topics_in_its_group_and_dead_letters_them(self) -> None:
        for consumption in CONSUMERS.values():
            service = consumption.service
            assert may(service, "READ", "group", consumption.group)
            for topic in consumption.topics:
                assert may(service, "READ", "topic", topic)
                if consumption.dead_letters:
                    assert may(service, "WRITE", "topic", topics.dead_letter_topic(topic))

    def test_no_one_reads_another_services_group(self) -> None:
        for service in bus_users():
            for consumption in CONSUMERS.values():
                mine = service == consumption.service
                assert may(service, "READ", "group", consumption.group) == mine

    def test_the_notifiers_alerts_group_reads_every_event_topic_but_dead_letters_nothing(
        self,
    ) -> None:
        alerts = CONSUMERS["notifier-alerts"]
        assert alerts.service == "notifier" and alerts.by_pattern and not alerts.dead_letters
        for topic in topics.EVENT_TOPICS:
            assert may("notifier", "READ", "topic", topic)
        assert not may("notifier", "WRITE", "topic", topics.dead_letter_topic(topics.ACTIVITY))
        assert not may("notifier", "WRITE", "topic", topics.dead_letter_topic(topics.NOTIFIER))

    def test_the_services_default_groups_are_the_granted_ones(self) -> None:
        assert ActivitySettings().group_id == CONSUMERS["activity"].group
        assert FulfilmentSettings().consumer_group == CONSUMERS["fulfilment"].group
        assert NotifierSettings().consumer_group == CONSUMERS["notifier"].group
        assert NotifierSettings().alerts_consumer_group == CONSUMERS["notifier-alerts"].group
        assert NotifierSettings().alerts_topic_pattern == CONSUMERS["notifier-alerts"].pattern
        assert (FulfilmentSettings().ingest_topic,) == CONSUMERS["fulfilment"].topics
        notifier = NotifierSettings()
        assert (notifier.ingest_topic, notifier.fulfilment_topic) == CONSUMERS["notifier"].topics


class TestKafkaAccess:
    def test_a_bare_bootstrap_is_an_unauthenticated_bus(self) -> None:
        assert kafka_client_options("h:9092") == {
            "bootstrap_servers": ["h:9092"],
            "security_protocol": "PLAINTEXT",
        }
        assert faststream_security("h:9092") is None

    def test_a_cluster_bootstrap_reaches_the_clients_as_one_address_per_broker(self) -> None:
        # FastStream took "a:1,b:2" for one host name; a list reaches every broker.
        options = kafka_client_options(" a:9092, b:9094 ,c:9096")
        assert options["bootstrap_servers"] == ["a:9092", "b:9094", "c:9096"]

    def test_a_user_signs_in_with_scram_over_sasl(self) -> None:
        access = KafkaAccess("h:9092", "ingest", SecretStr(PASSWORD))
        options = kafka_client_options(access)
        assert options["security_protocol"] == "SASL_PLAINTEXT"
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert options["sasl_plain_username"] == "ingest"
        assert options["sasl_plain_password"] == PASSWORD

    def test_the_password_never_shows_in_its_repr(self) -> None:
        access = KafkaAccess("h:9092", "ingest", SecretStr(PASSWORD))
        assert PASSWORD not in repr(access) and PASSWORD not in str(access)
        settings = IngestSettings(kafka_username="ingest", kafka_password=SecretStr(PASSWORD))
        assert PASSWORD not in repr(settings) and PASSWORD not in repr(settings.kafka)

    def test_a_user_without_a_password_is_refused_at_start(self) -> None:
        with pytest.raises(ValidationError, match="has no password"):
            IngestSettings(kafka_username="ingest")

    def test_prod_refuses_a_placeholder_kafka_password(self) -> None:
        with pytest.raises(ValidationError, match="kafka_password is a dev placeholder"):
            IngestSettings(
                environment="prod",
                kafka_username="ingest",
                kafka_password=SecretStr("dev-only-kafka-ingest"),
            )
