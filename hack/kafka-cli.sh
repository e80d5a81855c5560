#!/usr/bin/env bash
# Runs Apache Kafka's own command-line tools from the Maven jars (kafka_2.13 + kafka-tools), the way
# bin/kafka-*.sh of an Apache Kafka release would, without downloading a release tarball.
#
#   hack/kafka-cli.sh kafka-topics --bootstrap-server 127.0.0.1:9092 --list
#   hack/kafka-cli.sh --prepare      resolve the jars into the cache and print the tool -> class map
#
# The runtime classpath is resolved once per Kafka version with Maven (test/java/kafka-cli/pom.xml)
# and cached in ${AUTOMQ_TS_CACHE:-~/.cache/automq-ts}/kafka-cli-<version>/; jars live in ~/.m2.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/test/java/kafka-cli/pom.xml"
VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
CACHE="${AUTOMQ_TS_CACHE:-$HOME/.cache/automq-ts}/kafka-cli-$VERSION"
CP_FILE="$CACHE/classpath.txt"
MAINS_FILE="$CACHE/mains.txt"

# tool name -> candidate main classes, newest location first (Kafka moved them from Scala
# kafka.admin/kafka.tools to org.apache.kafka.tools over the 3.x line).
candidates() {
  case "$1" in
    kafka-topics) echo "org.apache.kafka.tools.TopicCommand kafka.admin.TopicCommand" ;;
    kafka-console-producer) echo "org.apache.kafka.tools.ConsoleProducer kafka.tools.ConsoleProducer" ;;
    kafka-console-consumer) echo "org.apache.kafka.tools.consumer.ConsoleConsumer kafka.tools.ConsoleConsumer" ;;
    kafka-consumer-groups) echo "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand kafka.admin.ConsumerGroupCommand" ;;
    kafka-configs) echo "org.apache.kafka.tools.ConfigCommand kafka.admin.ConfigCommand" ;;
    kafka-get-offsets) echo "org.apache.kafka.tools.GetOffsetShell kafka.tools.GetOffsetShell" ;;
    kafka-broker-api-versions) echo "org.apache.kafka.tools.BrokerApiVersionsCommand kafka.admin.BrokerApiVersionsCommand" ;;
    kafka-delete-records) echo "org.apache.kafka.tools.DeleteRecordsCommand kafka.admin.DeleteRecordsCommand" ;;
    kafka-reassign-partitions) echo "org.apache.kafka.tools.reassign.ReassignPartitionsCommand kafka.admin.ReassignPartitionsCommand" ;;
    kafka-leader-election) echo "org.apache.kafka.tools.LeaderElectionCommand kafka.admin.LeaderElectionCommand" ;;
    kafka-storage) echo "kafka.tools.StorageTool" ;;
    kafka-server-start) echo "kafka.Kafka" ;;
    *) return 1 ;;
  esac
}
TOOLS="kafka-topics kafka-console-producer kafka-console-consumer kafka-consumer-groups kafka-configs kafka-get-offsets kafka-broker-api-versions kafka-delete-records kafka-reassign-partitions kafka-leader-election kafka-storage kafka-server-start"

die() { echo "kafka-cli.sh: $*" >&2; exit 127; }

need_java() {
  command -v java >/dev/null 2>&1 || die "java not found; run .ci/run (installs openjdk-17-jdk-headless)"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${major%%.*}" -ge 17 ]] 2>/dev/null || die "Kafka $VERSION tools need Java 17 or later, found '${major:-unknown}'"
}

classpath_ok() {
  [[ -s "$CP_FILE" && -s "$MAINS_FILE" ]] || return 1
  # The index is for one tool list: a cache made before a tool was added here is rebuilt.
  [[ "$(head -n1 "$MAINS_FILE")" == "# tools: $TOOLS" ]] || return 1
  local jar
  IFS=: read -r -a jars < "$CP_FILE" || true
  for jar in "${jars[@]}"; do [[ -f "$jar" ]] || return 1; done
}

prepare() {
  classpath_ok && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found; run .ci/run (installs maven)"
  mkdir -p "$CACHE"
  tmp="$CP_FILE.tmp.$$"
  trap 'rm -f "$tmp" "$MAINS_FILE.tmp"' EXIT
  # Offline first: fast and quiet when ~/.m2 already holds everything.
  if ! mvn -q -B -Dstyle.color=never -o -f "$POM" dependency:build-classpath -Dmdep.includeScope=runtime \
        -Dmdep.outputFile="$tmp" >/dev/null 2>&1; then
    mvn -q -B -Dstyle.color=never -f "$POM" dependency:build-classpath -Dmdep.includeScope=runtime \
        -Dmdep.outputFile="$tmp" >&2 || die "could not resolve org.apache.kafka:kafka_2.13/kafka-tools:$VERSION from Maven"
  fi
  # Index which main class each tool has in this version, so a run needs no jar scan.
  local kjars=() jar
  IFS=: read -r -a all < "$tmp" || true
  for jar in "${all[@]}"; do
    case "$(basename "$jar")" in kafka-tools-*.jar|kafka_2.13-*.jar) kjars+=("$jar") ;; esac
  done
  local classes tool cls found
  classes="$(for jar in "${kjars[@]}"; do jar tf "$jar" 2>/dev/null || unzip -Z1 "$jar"; done)"
  echo "# tools: $TOOLS" > "$MAINS_FILE.tmp"
  for tool in $TOOLS; do
    found=""
    for cls in $(candidates "$tool"); do
      if grep -qx "${cls//.//}.class" <<<"$classes"; then found="$cls"; break; fi
    done
    [[ -n "$found" ]] && echo "$tool $found" >> "$MAINS_FILE.tmp"
  done
  mv "$MAINS_FILE.tmp" "$MAINS_FILE"
  mv "$tmp" "$CP_FILE"
}

[[ $# -ge 1 ]] || die "usage: hack/kafka-cli.sh <kafka-topics|kafka-console-producer|kafka-console-consumer|kafka-consumer-groups|kafka-configs|...> args... | --prepare"
need_java

if [[ "$1" == "--prepare" ]]; then
  prepare
  echo "Apache Kafka $VERSION tools, classpath in $CP_FILE:"
  tail -n +2 "$MAINS_FILE"
  exit 0
fi

tool="${1%.sh}"; shift
candidates "$tool" >/dev/null || die "unknown tool '$tool'; known: $TOOLS"
prepare
main="$(awk -v t="$tool" '$1 == t { print $2 }' "$MAINS_FILE")"
[[ -n "$main" ]] || die "no main class for $tool in Kafka $VERSION (looked for: $(candidates "$tool"))"

# Same defaults as Kafka's bin/kafka-run-class.sh for tools (small heap), plus a fast-starting JIT.
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
  -Dorg.slf4j.simpleLogger.defaultLogLevel="${KAFKA_CLI_LOG_LEVEL:-warn}" \
  ${KAFKA_CLI_JAVA_OPTS:-} -cp "$(cat "$CP_FILE")" "$main" "$@"
