"""fev pub TOPIC against the real fevd: a keyed event lands in the partition
Kafka's partitioner gives its key, unkeyed events spread over every
partition, TOPIC@k writes partition k alone."""
import json
import sys

from fevtool import expect, expect_rc, main, start_fevd

# Kafka's Utils.murmur2 of these keys (as Java's signed int), the vectors
# of tests/libfev/test_murmur2.c (UtilsTest.testMurmur2 and librdkafka's
# unittest_murmur2).  Kafka's partition: toPositive(hash) % partitions,
# the sign bit cleared; half of these hashes are negative, so abs() or a
# signed modulo would put them elsewhere.
KAFKA_HASHES = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
    "kafka": 0xd067cf64,
    "giberish123456789": 0x8f552b0c,
    "1234": 0x9fc97b14,
    "234": 0xe7c009ca,
    "34": 0x873930da,
    "4": 0x5a4b5ca1,
}
PARTITIONS = 4


def kafka_partition(key):
    return (KAFKA_HASHES[key] & 0x7fffffff) % PARTITIONS


def partition_name(k):
    return "orders" if k == 0 else "orders@%d" % k


def drain(f, k):
    """Every event partition k holds, as fev sub --json gives them."""
    r = f.fev("sub", partition_name(k), "--json", "--timeout", "300ms")
    expect_rc(r, 0, "sub " + partition_name(k))
    return [json.loads(line) for line in r.stdout.splitlines()]


def create_topic(f):
    start_fevd(f)
    expect_rc(f.fev("topic", "create", "orders", "--partitions",
                    str(PARTITIONS), "--capacity", "64"), 0, "topic create")


def test_keyed_events_land_where_kafka_puts_their_key(f):
    create_topic(f)
    for key in KAFKA_HASHES:
        expect_rc(f.fev("pub", "orders", "--key", key, "-m", key), 0,
                  "pub --key " + key)
    for k in range(PARTITIONS):
        got = [(e["key"], e["payload"]) for e in drain(f, k)]
        want = [(key, key) for key in KAFKA_HASHES
                if kafka_partition(key) == k]
        expect(got == want, "partition %d holds the keys Kafka gives it, "
               "in publish order" % k, got, want)
    expect_rc(f.fev("topic", "delete", "orders"), 0, "topic delete")


def test_one_pub_routes_each_line_by_the_same_key(f):
    create_topic(f)
    r = f.fev("pub", "orders", "--key", "kafka", "-v",
              input="one\ntwo\nthree\n")
    expect_rc(r, 0, "pub of three lines")
    k = kafka_partition("kafka")
    expect("by partition: " + " ".join("3" if i == k else "0"
                                        for i in range(PARTITIONS))
           in r.stderr, "the summary counts each partition", r.stderr)
    got = [e["payload"] for e in drain(f, k)]
    expect(got == ["one", "two", "three"], "all in partition %d" % k, got)
    expect_rc(f.fev("topic", "delete", "orders"), 0, "topic delete")


def test_unkeyed_events_spread_over_every_partition(f):
    create_topic(f)
    expect_rc(f.fev("pub", "orders", "-m", "x", "--count", "8"), 0, "pub")
    expect_rc(f.fev("pub", "orders", "--size", "16", "--count", "8"), 0,
              "pub --size")
    counts = [len(drain(f, k)) for k in range(PARTITIONS)]
    expect(counts == [4] * PARTITIONS, "round-robin: 16 events, 4 each",
           counts)
    expect_rc(f.fev("topic", "delete", "orders"), 0, "topic delete")


def test_a_partition_named_gets_every_event_whatever_its_key(f):
    create_topic(f)
    expect_rc(f.fev("pub", "orders@2", "--key", "21", "-m", "a",
                    "--count", "3"), 0, "pub orders@2")
    counts = [len(drain(f, k)) for k in range(PARTITIONS)]
    expect(counts == [0, 0, 3, 0], "all in partition 2 (the key would "
           "say %d)" % kafka_partition("21"), counts)
    expect_rc(f.fev("topic", "delete", "orders"), 0, "topic delete")


if __name__ == "__main__":
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_")], needs=("FEVD",)))
