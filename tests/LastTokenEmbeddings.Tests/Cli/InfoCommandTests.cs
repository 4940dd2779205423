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

    [Test]
    public async Task A_checkpoint_missing_a_tensor_fails_info_naming_the_tensor()
    {
        using var variant = new Checkpoints.FixtureRewriter().Config().Weights((name, t) => name == "model.layers.1.mlp.up_proj.weight" ? [] : [(name, t)]);
        var run = await Lte.Run("info", "--model", variant.Directory);
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stdout, Is.Empty);
        Assert.That(run.StderrLines.Single(), Does.StartWith("lte: error:").And.Contain("model.layers.1.mlp.up_proj.weight").And.Contain("missing"));
    }

    [Test]
    public async Task A_config_disagreeing_with_the_shapes_fails_info_naming_the_tensor()
    {
        using var variant = new Checkpoints.FixtureRewriter().Config(c => c["intermediate_size"] = 96).Weights();
        var run = await Lte.Run("info", "--model", variant.Directory, "--format", "json");
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.StderrLines.Single(), Does.Contain("model.layers.0.mlp.gate_proj.weight").And.Contain("[128, 64]").And.Contain("[96, 64]"));
    }

    [Test]
    public async Task An_unexpected_tensor_fails_info()
    {
        using var variant = new Checkpoints.FixtureRewriter().Config().Weights(extra: [("model.layers.0.self_attn.q_proj.bias", TorchSharp.torch.zeros(64))]);
        var run = await Lte.Run("info", "--model", variant.Directory);
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.StderrLines.Single(), Does.Contain("model.layers.0.self_attn.q_proj.bias").And.Contain("unexpected tensor"));
    }

    [Test]
    public async Task Info_reports_the_family_declared_settings_and_chosen_dtype()
    {
        var json = (await Lte.Run("info", "--model", TestPaths.Fixture("tiny-qwen3-embedding"), "--format", "json")).Json();
        Assert.That(json.GetProperty("family").GetString(), Is.EqualTo("qwen3"));
        Assert.That(json.GetProperty("qkNorm").GetBoolean(), Is.True);
        var declared = json.GetProperty("declared");
        Assert.That(declared.GetProperty("pooling").GetString(), Is.EqualTo("lasttoken"));
        Assert.That(declared.GetProperty("normalize").GetBoolean(), Is.True);
        Assert.That(declared.GetProperty("maxSeqLength").GetInt32(), Is.EqualTo(8192));
        Assert.That(declared.GetProperty("prompts").GetProperty("query").GetString(), Does.StartWith("Instruct: "));
        var f32 = (await Lte.OnFixture("info", "--dtype", "float32", "--format", "json")).Json();
        Assert.That((f32.GetProperty("computeDType").GetString(), f32.GetProperty("computeDTypeReason").GetString()), Is.EqualTo(("float32", "requested")));
        var auto = (await Lte.OnFixture("info", "--format", "json")).Json();
        Assert.That(auto.GetProperty("computeDTypeReason").GetString(), Does.StartWith("auto: "));
    }
}
