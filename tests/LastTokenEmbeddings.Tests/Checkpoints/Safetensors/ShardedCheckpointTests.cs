using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Checkpoints.Safetensors;

public class ShardedCheckpointTests : SafetensorsTestBase
{
    private string IndexPath => Path.Combine(TempDir, ShardedCheckpoint.IndexFileName);

    private void WriteShard(string fileName, params string[] tensorNames)
    {
        var tensors = tensorNames.Select((name, i) => new KeyValuePair<string, Tensor>(name, full(new long[] { 2 }, SafeScalars.Of(i + 1)))).ToList();
        SafetensorsWriter.Write(Path.Combine(TempDir, fileName), tensors);
        foreach (var (_, t) in tensors)
        {
            t.Dispose();
        }
    }

    private void WriteIndex(string weightMapJson) =>
        File.WriteAllText(IndexPath, $$"""{"metadata":{"total_size":0},"weight_map":{{weightMapJson}}}""");

    private CheckpointException AssertOpenFails(string filePath, string fragment, string? tensorName = null)
    {
        var ex = Assert.Catch<CheckpointException>(() => ShardedCheckpoint.Open(TempDir).Dispose());
        Assert.That(ex, Is.Not.Null);
        Assert.That(ex!.FilePath, Is.EqualTo(filePath));
        Assert.That(ex.Message, Does.Contain(filePath).And.Contain(fragment));
        if (tensorName is not null)
        {
            Assert.That(ex.TensorName, Is.EqualTo(tensorName));
            Assert.That(ex.Message, Does.Contain($"'{tensorName}'"));
        }
        return ex;
    }

    [Test]
    public void Vendored_tiny_mistral_checkpoint_opens_with_all_21_tensors()
    {
        var dir = TestPaths.FixtureDirectory;
        using var checkpoint = ShardedCheckpoint.Open(dir);
        var shard1 = Path.Combine(dir, "model-00001-of-00002.safetensors");
        var shard2 = Path.Combine(dir, "model-00002-of-00002.safetensors");

        Assert.That(checkpoint.TensorNames, Has.Count.EqualTo(21));
        Assert.That(checkpoint.Files, Is.EqualTo(new[] { shard1, shard2 }));
        Assert.That(checkpoint.TotalBytes, Is.EqualTo(new FileInfo(shard1).Length + new FileInfo(shard2).Length));

        var embed = checkpoint.GetInfo("model.embed_tokens.weight");
        Assert.That(embed.DType, Is.EqualTo(SafetensorsDType.F32));
        Assert.That(embed.Shape, Is.EqualTo(new long[] { 32000, 64 }));
        Assert.That(checkpoint.FileOf("model.embed_tokens.weight"), Is.EqualTo(shard1));
        Assert.That(checkpoint.FileOf("lm_head.weight"), Is.EqualTo(shard2));
        Assert.That(checkpoint.GetInfo("lm_head.weight").Shape, Is.EqualTo(new long[] { 32000, 64 }));

        foreach (var name in checkpoint.TensorNames)
        {
            using var t = checkpoint.Read(name);
            Assert.That(t.shape, Is.EqualTo(checkpoint.GetInfo(name).Shape), name);
            Assert.That(t.dtype, Is.EqualTo(ScalarType.Float32), name);
            using var finite = t.isfinite().all();
            Assert.That(finite.item<bool>(), Is.True, name);
        }
        using var norm = checkpoint.Read("model.norm.weight");
        Assert.That(norm.shape, Is.EqualTo(new long[] { 64 }));
    }

    [Test]
    public void Vendored_checkpoint_rewritten_as_a_single_file_reads_identically()
    {
        using var sharded = ShardedCheckpoint.Open(TestPaths.FixtureDirectory);
        var tensors = sharded.TensorNames.Select(n => new KeyValuePair<string, Tensor>(n, sharded.Read(n))).ToList();
        SafetensorsWriter.Write(Path.Combine(TempDir, ShardedCheckpoint.SingleFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });

        using var single = ShardedCheckpoint.Open(TempDir);
        Assert.That(single.Files, Is.EqualTo(new[] { Path.Combine(TempDir, ShardedCheckpoint.SingleFileName) }));
        Assert.That(single.TensorNames, Is.EqualTo(sharded.TensorNames));
        foreach (var (name, expected) in tensors)
        {
            using var actual = single.Read(name);
            using var eq = equal(actual, expected);
            using var all = eq.all();
            Assert.That(all.item<bool>(), Is.True, name);
            expected.Dispose();
        }
    }

    [Test]
    public void Single_file_is_preferred_over_an_index()
    {
        WriteShard(ShardedCheckpoint.SingleFileName, "a");
        WriteIndex("""{"b":"missing.safetensors"}""");
        using var checkpoint = ShardedCheckpoint.Open(TempDir);
        Assert.That(checkpoint.TensorNames, Is.EqualTo(new[] { "a" }));
    }

    [Test]
    public void Directory_without_weights_is_rejected_naming_the_directory() =>
        AssertOpenFails(TempDir, "neither model.safetensors nor model.safetensors.index.json exists");

    [Test]
    public void Missing_directory_is_rejected()
    {
        var missing = Path.Combine(TempDir, "nope");
        var ex = Assert.Catch<CheckpointException>(() => ShardedCheckpoint.Open(missing));
        Assert.That(ex!.FilePath, Is.EqualTo(missing));
        Assert.That(ex.Message, Does.Contain("does not exist"));
    }

    [Test]
    public void Index_that_is_not_json_is_rejected()
    {
        File.WriteAllText(IndexPath, """{"weight_map": {""");
        AssertOpenFails(IndexPath, "index is not valid JSON");
    }

    [Test]
    public void Index_without_weight_map_is_rejected()
    {
        File.WriteAllText(IndexPath, """{"metadata":{}}""");
        AssertOpenFails(IndexPath, "index has no 'weight_map'");
    }

    [Test]
    public void Index_whose_weight_map_is_not_an_object_is_rejected()
    {
        WriteIndex("""["a.safetensors"]""");
        AssertOpenFails(IndexPath, "'weight_map' must be a JSON object");
    }

    [Test]
    public void Index_with_a_non_string_shard_name_is_rejected()
    {
        WriteIndex("""{"a":1}""");
        AssertOpenFails(IndexPath, "'weight_map' value must be a shard file name (a string)", "a");
    }

    [Test]
    public void Index_listing_a_tensor_twice_is_rejected()
    {
        WriteShard("s.safetensors", "a");
        WriteIndex("""{"a":"s.safetensors","a":"s.safetensors"}""");
        AssertOpenFails(IndexPath, "tensor listed twice in 'weight_map'", "a");
    }

    [Test]
    public void Index_with_an_empty_weight_map_is_rejected()
    {
        WriteIndex("{}");
        AssertOpenFails(IndexPath, "'weight_map' is empty");
    }

    [TestCase("../outside.safetensors", "contains a '..' segment (path traversal)")]
    [TestCase("sub/../../outside.safetensors", "contains a '..' segment (path traversal)")]
    [TestCase("..\\\\outside.safetensors", "contains a '..' segment (path traversal)")]
    [TestCase("/etc/passwd", "is an absolute path (path traversal)")]
    [TestCase("\\\\server\\\\share\\\\x.safetensors", "is an absolute path (path traversal)")]
    [TestCase("C:/Windows/x.safetensors", "is an absolute path (path traversal)")]
    [TestCase("", "is empty")]
    [TestCase(".", "resolves outside the checkpoint directory (path traversal)")]
    public void Shard_names_escaping_the_directory_are_rejected(string shard, string fragment)
    {
        WriteIndex($$"""{"a":"{{shard}}"}""");
        AssertOpenFails(IndexPath, fragment, "a");
    }

    [Test]
    public void Shard_in_a_subdirectory_is_allowed()
    {
        Directory.CreateDirectory(Path.Combine(TempDir, "sub"));
        WriteShard("sub/s.safetensors", "a");
        WriteIndex("""{"a":"sub/s.safetensors"}""");
        using var checkpoint = ShardedCheckpoint.Open(TempDir);
        Assert.That(checkpoint.FileOf("a"), Is.EqualTo(Path.Combine(TempDir, "sub", "s.safetensors")));
    }

    [Test]
    public void Missing_shard_is_rejected_naming_the_shard()
    {
        WriteShard("s1.safetensors", "a");
        WriteIndex("""{"a":"s1.safetensors","b":"s2.safetensors"}""");
        AssertOpenFails(Path.Combine(TempDir, "s2.safetensors"), "shard file 's2.safetensors' listed in " + IndexPath + " does not exist");
    }

    [Test]
    public void Malformed_shard_is_rejected_naming_the_shard()
    {
        var shard = Path.Combine(TempDir, "s1.safetensors");
        File.WriteAllBytes(shard, [1, 2, 3]);
        WriteIndex("""{"a":"s1.safetensors"}""");
        AssertOpenFails(shard, "too short");
    }

    [Test]
    public void Tensor_listed_but_absent_from_its_shard_is_rejected()
    {
        WriteShard("s1.safetensors", "a");
        WriteIndex("""{"a":"s1.safetensors","b":"s1.safetensors"}""");
        AssertOpenFails(Path.Combine(TempDir, "s1.safetensors"), "tensor listed for shard 's1.safetensors' in " + IndexPath + " is missing from the shard", "b");
    }

    [Test]
    public void Tensor_listed_for_the_wrong_shard_is_rejected()
    {
        WriteShard("s1.safetensors", "a");
        WriteShard("s2.safetensors", "b");
        WriteIndex("""{"a":"s2.safetensors","b":"s2.safetensors","c":"s1.safetensors"}""");
        var ex = AssertOpenFails(Path.Combine(TempDir, "s2.safetensors"), "is missing from the shard (it is in " + Path.Combine(TempDir, "s1.safetensors") + ")", "a");
        Assert.That(ex, Is.Not.Null);
    }

    [Test]
    public void Tensor_in_two_shards_is_rejected_naming_both()
    {
        WriteShard("s1.safetensors", "a", "b");
        WriteShard("s2.safetensors", "b");
        WriteIndex("""{"a":"s1.safetensors","b":"s2.safetensors"}""");
        var s1 = Path.Combine(TempDir, "s1.safetensors");
        var s2 = Path.Combine(TempDir, "s2.safetensors");
        AssertOpenFails(s2, $"tensor is present in two shards: {s1} and {s2}", "b");
    }

    [Test]
    public void Tensor_in_a_shard_but_not_in_the_index_is_rejected()
    {
        WriteShard("s1.safetensors", "a", "extra");
        WriteIndex("""{"a":"s1.safetensors"}""");
        AssertOpenFails(IndexPath, "tensor in shard " + Path.Combine(TempDir, "s1.safetensors") + " is not listed in the index's weight_map", "extra");
    }

    [Test]
    public void Each_shard_is_opened_once_and_lookups_work()
    {
        WriteShard("s1.safetensors", "a", "b");
        WriteShard("s2.safetensors", "c");
        WriteIndex("""{"a":"s1.safetensors","b":"./s1.safetensors","c":"s2.safetensors"}""");
        using var checkpoint = ShardedCheckpoint.Open(TempDir);
        Assert.That(checkpoint.Files, Has.Count.EqualTo(2));
        Assert.That(checkpoint.TensorNames, Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(checkpoint.FileOf("b"), Is.EqualTo(Path.Combine(TempDir, "s1.safetensors")));
        using var c = checkpoint.Read("c");
        Assert.That(c[0].item<float>(), Is.EqualTo(1f));

        var ex = Assert.Catch<CheckpointException>(() => checkpoint.GetInfo("zzz"));
        Assert.That(ex!.FilePath, Is.EqualTo(IndexPath));
        Assert.That(ex.Message, Does.Contain("'zzz'").And.Contain("no such tensor"));
        Assert.That(Assert.Catch<CheckpointException>(() => checkpoint.Read("zzz"))!.TensorName, Is.EqualTo("zzz"));
        Assert.That(Assert.Catch<CheckpointException>(() => checkpoint.FileOf("zzz"))!.TensorName, Is.EqualTo("zzz"));
    }
}
