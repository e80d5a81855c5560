package automq.test;

import java.io.BufferedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Drives the Apache Kafka Java client against a broker for the mocha test
 * test/clients/java-client.test.ts. Every result is one JSON object per line on stdout, so the
 * test (not this program) decides what is correct. Client warnings go to stderr.
 *
 * Modes:
 *   create-topic --partitions N
 *   produce      --count N --partitions N --prefix P [--compression C] [--idempotence B] [--acks A]
 *                record i goes to partition i % partitions, key "k<i>", value "<prefix>-<i>"
 *   consume      --group G --members M --count N [--timeout-ms T]
 *                M consumers (one thread each) in group G read until N distinct records arrived,
 *                then commit synchronously and close. Offsets are also committed on revocation,
 *                so a rebalance while reading is not an excuse for duplicates.
 *   committed    --group G   (the group's committed offsets, read with the Admin client)
 *
 * Exit codes: 0 ok, 1 client error, 2 bad arguments, 3 timeout.
 */
public final class ClientCheck {
  private static final PrintStream OUT =
      new PrintStream(new BufferedOutputStream(System.out, 1 << 16), false, StandardCharsets.UTF_8);

  private ClientCheck() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parseArgs(argv);
    String mode = require(args, "mode");
    int rc;
    try {
      switch (mode) {
        case "create-topic" -> rc = createTopic(args);
        case "produce" -> rc = produce(args);
        case "consume" -> rc = consume(args);
        case "committed" -> rc = committed(args);
        default -> {
          System.err.println("ClientCheck: unknown --mode " + mode
              + " (expected create-topic, produce, consume or committed)");
          rc = 2;
        }
      }
    } catch (Exception e) {
      emit("{\"event\":\"error\",\"error\":" + q(describe(e)) + "}");
      e.printStackTrace(System.err);
      rc = 1;
    }
    OUT.flush();
    System.exit(rc);
  }

  private static int createTopic(Map<String, String> args) throws Exception {
    String topic = require(args, "topic");
    int partitions = Integer.parseInt(args.getOrDefault("partitions", "3"));
    try (Admin admin = Admin.create(adminProps(args))) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
    }
    emit("{\"event\":\"topic-created\",\"topic\":" + q(topic) + ",\"partitions\":" + partitions + "}");
    return 0;
  }

  private static int produce(Map<String, String> args) throws Exception {
    String topic = require(args, "topic");
    int count = Integer.parseInt(require(args, "count"));
    int partitions = Integer.parseInt(args.getOrDefault("partitions", "3"));
    String prefix = args.getOrDefault("prefix", "r");
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, require(args, "bootstrap"));
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "client-check-producer");
    p.put(ProducerConfig.ACKS_CONFIG, args.getOrDefault("acks", "all"));
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, args.getOrDefault("compression", "none"));
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, args.getOrDefault("idempotence", "false"));
    p.put(ProducerConfig.LINGER_MS_CONFIG, args.getOrDefault("linger-ms", "5"));
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, args.getOrDefault("delivery-timeout-ms", "60000"));
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, args.getOrDefault("request-timeout-ms", "15000"));
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    AtomicLong acked = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (int i = 0; i < count; i++) {
        final String key = "k" + i;
        final String value = prefix + "-" + i;
        producer.send(new ProducerRecord<>(topic, i % partitions, key, value), (md, e) -> {
          if (e != null) {
            errors.incrementAndGet();
            emit("{\"event\":\"produce-error\",\"key\":" + q(key) + ",\"value\":" + q(value)
                + ",\"error\":" + q(describe(e)) + "}");
          } else {
            acked.incrementAndGet();
            emit("{\"event\":\"produced\",\"partition\":" + md.partition() + ",\"offset\":" + md.offset()
                + ",\"key\":" + q(key) + ",\"value\":" + q(value) + "}");
          }
        });
      }
      producer.flush();
    }
    emit("{\"event\":\"produce-done\",\"acked\":" + acked.get() + ",\"errors\":" + errors.get() + "}");
    return errors.get() == 0 ? 0 : 1;
  }

  private static int consume(Map<String, String> args) throws Exception {
    String topic = require(args, "topic");
    String group = require(args, "group");
    int members = Integer.parseInt(args.getOrDefault("members", "3"));
    long expected = Long.parseLong(require(args, "count"));
    long timeoutMs = Long.parseLong(args.getOrDefault("timeout-ms", "120000"));
    Set<String> distinct = ConcurrentHashMap.newKeySet();
    AtomicLong records = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean(expected == 0);
    List<Throwable> failures = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int m = 0; m < members; m++) {
      final int member = m;
      Thread t = new Thread(() -> {
        try {
          runMember(args, topic, group, member, expected, distinct, records, stop);
        } catch (Throwable e) {
          synchronized (failures) {
            failures.add(e);
          }
          emit("{\"event\":\"consumer-error\",\"member\":" + member + ",\"error\":" + q(describe(e)) + "}");
          e.printStackTrace(System.err);
          stop.set(true);
        }
      }, "member-" + m);
      threads.add(t);
      t.start();
    }
    long deadline = System.currentTimeMillis() + timeoutMs;
    boolean timedOut = false;
    while (!stop.get()) {
      if (System.currentTimeMillis() > deadline) {
        timedOut = true;
        stop.set(true);
        break;
      }
      Thread.sleep(50);
    }
    for (Thread t : threads) {
      t.join(60_000);
    }
    if (timedOut) {
      emit("{\"event\":\"timeout\",\"distinct\":" + distinct.size() + ",\"records\":" + records.get()
          + ",\"expected\":" + expected + "}");
      return 3;
    }
    emit("{\"event\":\"consume-done\",\"distinct\":" + distinct.size() + ",\"records\":" + records.get() + "}");
    return failures.isEmpty() ? 0 : 1;
  }

  private static void runMember(Map<String, String> args, String topic, String group, int member,
      long expected, Set<String> distinct, AtomicLong records, AtomicBoolean stop) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, require(args, "bootstrap"));
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, group + "-m" + member);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
      consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
          for (TopicPartition tp : partitions) {
            offsets.put(tp, new OffsetAndMetadata(consumer.position(tp)));
          }
          if (!offsets.isEmpty()) {
            consumer.commitSync(offsets);
          }
          emit("{\"event\":\"revoked\",\"member\":" + member + ",\"partitions\":" + partitionList(partitions)
              + ",\"committed\":" + offsetsJson(offsets) + "}");
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          emit("{\"event\":\"assigned\",\"member\":" + member + ",\"partitions\":" + partitionList(partitions) + "}");
        }
      });
      while (!stop.get()) {
        ConsumerRecords<String, String> batch = consumer.poll(Duration.ofMillis(100));
        for (ConsumerRecord<String, String> r : batch) {
          records.incrementAndGet();
          distinct.add(r.partition() + ":" + r.offset());
          emit("{\"event\":\"record\",\"member\":" + member + ",\"partition\":" + r.partition() + ",\"offset\":"
              + r.offset() + ",\"key\":" + q(r.key()) + ",\"value\":" + q(r.value()) + "}");
        }
        if (distinct.size() >= expected) {
          stop.set(true);
        }
      }
      Set<TopicPartition> assignment = consumer.assignment();
      consumer.commitSync();
      Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assignment);
      emit("{\"event\":\"committed\",\"member\":" + member + ",\"offsets\":" + offsetsJson(committed) + "}");
    }
  }

  private static int committed(Map<String, String> args) throws Exception {
    String group = require(args, "group");
    try (Admin admin = Admin.create(adminProps(args))) {
      Map<TopicPartition, OffsetAndMetadata> offsets =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      emit("{\"event\":\"committed-offsets\",\"group\":" + q(group) + ",\"offsets\":" + offsetsJson(offsets) + "}");
    }
    return 0;
  }

  private static Properties adminProps(Map<String, String> args) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, require(args, "bootstrap"));
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    return p;
  }

  private static String partitionList(Collection<TopicPartition> partitions) {
    StringBuilder sb = new StringBuilder("[");
    partitions.stream().map(TopicPartition::partition).sorted().forEach(x -> {
      if (sb.length() > 1) sb.append(',');
      sb.append(x);
    });
    return sb.append(']').toString();
  }

  /** {"<partition>": offset}; a partition with no committed offset maps to null. */
  private static String offsetsJson(Map<TopicPartition, OffsetAndMetadata> offsets) {
    Map<Integer, OffsetAndMetadata> sorted = new TreeMap<>();
    offsets.forEach((tp, om) -> sorted.put(tp.partition(), om));
    StringBuilder sb = new StringBuilder("{");
    sorted.forEach((part, om) -> {
      if (sb.length() > 1) sb.append(',');
      sb.append('"').append(part).append("\":").append(om == null ? "null" : Long.toString(om.offset()));
    });
    return sb.append('}').toString();
  }

  private static synchronized void emit(String line) {
    OUT.println(line);
  }

  private static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (sb.length() > 0) sb.append(" <- ");
      sb.append(c.getClass().getName()).append(": ").append(c.getMessage());
      if (c.getCause() == c) break;
    }
    return sb.toString();
  }

  private static String q(String s) {
    if (s == null) return "null";
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
          else sb.append(c);
        }
      }
    }
    return sb.append('"').toString();
  }

  private static Map<String, String> parseArgs(String[] argv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      if (!a.startsWith("--") || i + 1 >= argv.length) {
        System.err.println("ClientCheck: expected --name value pairs, got " + String.join(" ", argv));
        System.exit(2);
      }
      m.put(a.substring(2), argv[++i]);
    }
    return m;
  }

  private static String require(Map<String, String> args, String name) {
    String v = args.get(name);
    if (v == null) {
      System.err.println("ClientCheck: missing --" + name);
      System.exit(2);
    }
    return v;
  }
}
