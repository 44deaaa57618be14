"""`stack.py up --brokers 3`: the cluster's nodes, ports and settings, without starting a JVM.

The cluster itself runs in tests/faults/test_brokers.py (slow); this checks the
plan each node is started from, and that the broker count sticks to the state
folder as `--auth` does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shoptrail.events import topics
from shoptrail.events.kafka_access import KafkaAccess, kafka_client_options

LAUNCHER_DIR = Path(__file__).resolve().parents[1] / "deploy" / "local"
if str(LAUNCHER_DIR) not in sys.path:
    sys.path.append(str(LAUNCHER_DIR))

import stack  # noqa: E402


def paths(state: Path, brokers: int | None) -> stack.Paths:
    return stack.Paths(
        state=state, cache=state / "cache", kafka_port=19092, pg_port=15433,
        brokers_requested=brokers,
    )  # fmt: skip


def settings(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#")


def test_three_brokers_get_every_other_port_and_one_controller_between(tmp_path: Path) -> None:
    cluster = paths(tmp_path, 3)
    nodes = {n.name: n for n in cluster.kafka_nodes}
    assert {n: (v.node_id, v.roles, v.port) for n, v in nodes.items()} == {
        "kafka-1": (1, "broker", 19092),
        "kafka-2": (2, "broker", 19094),
        "kafka-3": (3, "broker", 19096),
        "kafka-controller": (0, "controller", None),
    }
    assert {n.controller_port for n in nodes.values()} == {19093}
    assert cluster.bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    assert len({n.data for n in nodes.values()}) == 4
    assert len({n.pid_file for n in nodes.values()}) == 4
    assert len({n.log for n in nodes.values()}) == 4
    broker = settings(stack.kafka_properties(cluster, nodes["kafka-2"]))
    assert broker["process.roles"] == "broker"
    assert broker["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19094"
    assert broker["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    for key in ("offsets.topic", "transaction.state.log", "share.coordinator.state.topic"):
        assert broker[f"{key}.replication.factor"] == "3"
    assert broker["min.insync.replicas"] == broker["transaction.state.log.min.isr"] == "2"
    controller = settings(stack.kafka_properties(cluster, nodes["kafka-controller"]))
    assert controller["process.roles"] == "controller"
    assert controller["listeners"] == "CONTROLLER://127.0.0.1:19093"


def test_a_guarded_cluster_replicates_as_the_operator_on_its_one_listener(tmp_path: Path) -> None:
    cluster = paths(tmp_path, 3)
    broker, controller = cluster.kafka_nodes[0], cluster.kafka_nodes[-1]
    said = settings(stack.kafka_properties(cluster, broker, "secret"))
    assert said["inter.broker.listener.name"] == "BUS"
    assert said["sasl.mechanism.inter.broker.protocol"] == "PLAIN"
    assert said["super.users"] == "User:admin"
    assert 'user_admin="secret"' in said["listener.name.bus.plain.sasl.jaas.config"]
    on_controller = settings(stack.kafka_properties(cluster, controller, "secret"))
    assert on_controller["listener.security.protocol.map"] == "CONTROLLER:SASL_PLAINTEXT"
    assert on_controller["authorizer.class.name"].endswith("StandardAuthorizer")


def test_one_broker_stays_the_single_node_it_was(tmp_path: Path) -> None:
    single = paths(tmp_path, None)
    (node,) = single.kafka_nodes
    assert (node.roles, node.port, node.controller_port) == ("broker,controller", 19092, 19093)
    assert node.pid_file == tmp_path / "kafka" / "kafka.pid"
    assert node.data == tmp_path / "kafka" / "data"
    said = settings(stack.kafka_properties(single, node))
    assert said["offsets.topic.replication.factor"] == said["min.insync.replicas"] == "1"


def test_the_broker_count_sticks_to_the_state_folder_until_reset(tmp_path: Path) -> None:
    first = paths(tmp_path, 3)
    first.kafka_dir.mkdir(parents=True)
    first.brokers_file.write_text("3\n")  # as `up --brokers 3` leaves it
    assert paths(tmp_path, None).brokers == 3
    with pytest.raises(SystemExit, match="reset"):
        stack._check_broker_count(paths(tmp_path, 1))
    (tmp_path / "other" / "kafka" / "data").mkdir(parents=True)
    (tmp_path / "other" / "kafka" / "data" / "meta.properties").write_text("node.id=1\n")
    with pytest.raises(SystemExit, match="reset"):  # a single node formatted before the count
        stack._check_broker_count(paths(tmp_path / "other", 3))


def test_topics_are_replicated_as_the_cluster_allows() -> None:
    assert topics.replication_for(1) == (1, topics.TOPIC_CONFIG)
    replicas, config = topics.replication_for(3)
    assert replicas == 3 and config["min.insync.replicas"] == "2"
    assert config.items() >= topics.TOPIC_CONFIG.items()


def test_every_client_gets_each_broker_of_a_bootstrap_list() -> None:
    access = KafkaAccess("127.0.0.1:1,127.0.0.1:3, 127.0.0.1:5")
    assert kafka_client_options(access)["bootstrap_servers"] == [
        "127.0.0.1:1",
        "127.0.0.1:3",
        "127.0.0.1:5",
    ]
