using System.Text;
using LastTokenEmbeddings.Cli.Corpus;

namespace LastTokenEmbeddings.Tests.Cli.Corpus;

/// <summary>The documented shard assignment: xxHash64 (seed 0) of the id's UTF-8 bytes mod N, or the record number mod N.</summary>
public class ShardSpecTests
{
    private static InputRecord Record(long row, string? id) => new(row, row + 1, default, id, "text", null, null);

    [Test]
    public void The_id_hash_is_xxhash64_with_seed_0_of_the_utf8_bytes()
    {
        // Reference values of XXH64 (seed 0) from the xxHash test vectors.
        Assert.That(ShardSpec.HashId(""), Is.EqualTo(0xEF46DB3751D8E999UL));
        Assert.That(ShardSpec.HashId("abc"), Is.EqualTo(0x44BC2CF5AD770999UL));
        Assert.That(ShardSpec.HashId("café"), Is.EqualTo(System.IO.Hashing.XxHash64.HashToUInt64(Encoding.UTF8.GetBytes("café"))));
        var longId = new string('x', 2000);
        Assert.That(ShardSpec.HashId(longId), Is.EqualTo(System.IO.Hashing.XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(longId))));
    }

    [Test]
    public void Every_record_belongs_to_exactly_one_shard()
    {
        var shards = Enumerable.Range(0, 5).Select(i => new ShardSpec(i, 5, ShardKey.Id)).ToArray();
        for (var row = 0; row < 2000; row++)
        {
            var record = Record(row, row % 97 == 0 ? null : $"id-{row}");
            Assert.That(shards.Count(s => s.Owns(record)), Is.EqualTo(1), $"record {row}");
        }
        var byId = shards[0];
        Assert.That(byId.Owns(Record(1, "abc")), Is.EqualTo(0x44BC2CF5AD770999UL % 5 == 0));
        Assert.That(byId.Owns(Record(10, null)), Is.True, "records without an id go by record number");
        var byRow = new ShardSpec(1, 3, ShardKey.Row);
        Assert.That(Enumerable.Range(0, 9).Where(r => byRow.Owns(Record(r, "same"))), Is.EqualTo(new[] { 1, 4, 7 }));
        Assert.That(ShardSpec.Whole.Owns(Record(5, null)), Is.True);
    }

    [Test]
    public void Shards_come_from_the_option_or_the_job_completion_index()
    {
        Assert.That(ShardSpec.Resolve("2/4", null, "3", ShardKey.Id), Is.EqualTo(new ShardSpec(2, 4, ShardKey.Id)));
        Assert.That(ShardSpec.Resolve(null, 4, " 3 ", ShardKey.Row), Is.EqualTo(new ShardSpec(3, 4, ShardKey.Row)));
        Assert.That(ShardSpec.Resolve(null, null, "3", ShardKey.Id), Is.EqualTo(ShardSpec.Whole), "JOB_COMPLETION_INDEX alone does not shard");
        Assert.That(ShardSpec.Resolve("0/1", null, null, ShardKey.Id).IsSharded, Is.False);
        Assert.That(new ShardSpec(2, 4, ShardKey.Id).Name, Is.EqualTo("shard-00002-of-00004"));
    }

    [TestCase("4/4", null, null)]
    [TestCase("-1/4", null, null)]
    [TestCase("1/0", null, null)]
    [TestCase("1", null, null)]
    [TestCase("a/b", null, null)]
    [TestCase("1/4", 4, "1")]
    [TestCase(null, 4, null)]
    [TestCase(null, 4, "4")]
    [TestCase(null, 4, "x")]
    [TestCase(null, 0, "0")]
    public void Malformed_shards_are_usage_errors(string? shard, int? shards, string? index)
    {
        Assert.That(() => ShardSpec.Resolve(shard, shards, index, ShardKey.Id), Throws.TypeOf<LastTokenEmbeddings.Cli.UsageException>());
    }
}
