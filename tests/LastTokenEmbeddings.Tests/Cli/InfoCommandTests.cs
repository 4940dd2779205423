namespace LastTokenEmbeddings.Tests.Cli;

/// <summary><c>lte info</c> describes the fixture from its config and safetensors headers.</summary>
public class InfoCommandTests
{
    [Test]
    public async Task Json_describes_the_fixture()
    {
        var json = (await Lte.OnFixture("info", "--format", "json")).Json();
        Assert.That(json.GetProperty("architecture").GetString(), Is.EqualTo("MistralForCausalLM"));
        Assert.That(json.GetProperty("layout").GetString(), Is.EqualTo("CausalLM"));
        Assert.That(json.GetProperty("hasLmHead").GetBoolean(), Is.True);
        Assert.That(json.GetProperty("layers").GetInt32(), Is.EqualTo(2));
        Assert.That(json.GetProperty("attentionHeads").GetInt32(), Is.EqualTo(4));
        Assert.That(json.GetProperty("keyValueHeads").GetInt32(), Is.EqualTo(2));
        Assert.That(json.GetProperty("headDim").GetInt32(), Is.EqualTo(16));
        Assert.That(json.GetProperty("hiddenSize").GetInt32(), Is.EqualTo(64));
        Assert.That(json.GetProperty("intermediateSize").GetInt32(), Is.EqualTo(128));
        Assert.That(json.GetProperty("slidingWindow").GetInt32(), Is.EqualTo(24));
        Assert.That(json.GetProperty("vocabSize").GetInt32(), Is.EqualTo(32000));
        Assert.That(json.GetProperty("maxPositionEmbeddings").GetInt32(), Is.EqualTo(512));
        Assert.That(json.GetProperty("storedDType").GetString(), Is.EqualTo("F32"));

        // embed + 2 × (4 norms/projections: q, k, v, o = 64·64 + 2·(32·64) + 64·64; MLP 3·64·128; 2 norms) + final norm + lm_head
        long layer = 64 * 64 + 32 * 64 * 2 + 64 * 64 + 3 * 64 * 128 + 2 * 64;
        Assert.That(json.GetProperty("parameters").GetInt64(), Is.EqualTo(32000 * 64 + 2 * layer + 64 + 32000 * 64));

        var files = json.GetProperty("files").EnumerateArray().ToArray();
        Assert.That(files.Select(f => f.GetProperty("name").GetString()),
            Is.EqualTo(new[] { "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors" }));
        var sizes = files.Select(f => f.GetProperty("bytes").GetInt64()).ToArray();
        Assert.That(sizes[0], Is.EqualTo(new FileInfo(Path.Combine(TestPaths.FixtureDirectory, "model-00001-of-00002.safetensors")).Length));
        Assert.That(json.GetProperty("totalBytes").GetInt64(), Is.EqualTo(sizes.Sum()));
    }

    [Test]
    public async Task Table_names_the_key_facts()
    {
        var run = await Lte.OnFixture("info");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(run.Stdout, Does.Contain("MistralForCausalLM").And.Contain("CausalLM").And.Contain("KV heads").And.Contain("32,000"));
    }

    [Test]
    public async Task Without_model_the_vendored_fixture_is_used()
    {
        var run = await Lte.Run("info", "--format", "json");
        var json = run.Json();
        Assert.That(Path.GetFullPath(json.GetProperty("model").GetString()!), Is.EqualTo(Path.GetFullPath(TestPaths.FixtureDirectory)));
        Assert.That(run.StderrLines, Has.Length.EqualTo(1).And.One.Contains("tiny-mistral"), "a one-line note says which model is used");
    }
}
