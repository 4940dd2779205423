using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Hub;
using LastTokenEmbeddings.Tests.Hub;

namespace LastTokenEmbeddings.Tests.Cli;

/// <summary>
/// <c>lte embed --model ORG/NAME</c> and the load API from an empty cache through a hub endpoint (a fake hub on
/// real loopback sockets), then offline with the hub gone. The HF_* variables are process-wide, hence non-parallel.
/// </summary>
[NonParallelizable]
public class HubModelTests
{
    private const string Id = "test-org/tiny-mistral";
    private readonly Dictionary<string, string?> saved = [];

    private void SetEnvironment(string name, string? value)
    {
        if (!saved.ContainsKey(name))
            saved[name] = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
    }

    [TearDown]
    public void RestoreEnvironment()
    {
        foreach (var (name, value) in saved)
            Environment.SetEnvironmentVariable(name, value);
        saved.Clear();
    }

    [Test]
    public async Task Lte_embeds_a_hub_model_from_an_empty_cache_then_offline()
    {
        using var cache = new TempCache();
        var local = (await Lte.OnFixture("embed", "--dtype", "float32", "--format", "json", "hello", "world")).Json();
        var hub = await FakeHub.StartAsync(onLoopbackSockets: true);
        await using (hub)
        {
            hub.Add(FakeRepo.FromFixture(Id, "tiny-mistral"));
            SetEnvironment("HF_ENDPOINT", hub.Endpoint.ToString().TrimEnd('/'));
            SetEnvironment("HF_HUB_CACHE", cache.Root);
            SetEnvironment("HF_HUB_OFFLINE", null);
            SetEnvironment("HF_TOKEN", null);
            var online = (await Lte.Run("embed", "--model", Id, "--dtype", "float32", "--format", "json", "hello", "world")).Json();
            AssertSameVectors(online, local);
            Assert.That(hub.Requests.Any(r => r.IsBody), Is.True, "files were downloaded");
            Assert.That(Directory.Exists(Path.Combine(cache.ModelFolder(Id), "snapshots")), Is.True);
        }

        SetEnvironment("HF_HUB_OFFLINE", "1");
        var offline = (await Lte.Run("embed", "--model", Id, "--dtype", "float32", "--format", "json", "hello", "world")).Json();
        AssertSameVectors(offline, local);
        var info = (await Lte.Run("info", "--model", Id, "--format", "json")).Json();
        Assert.That(info.GetProperty("modelId").GetString(), Is.EqualTo(Id));

        var missing = await Lte.Run("embed", "--model", "test-org/not-cached", "hello");
        Assert.That(missing.ExitCode, Is.EqualTo(1));
        Assert.That(missing.StderrLines.Single(), Does.StartWith("lte: error:").And.Contains("test-org/not-cached"));
        var badRevision = await Lte.Run("embed", "--model", TestPaths.FixtureDirectory, "--revision", "v1", "hello");
        Assert.That(badRevision.ExitCode, Is.EqualTo(2), "--revision applies to hub ids only");
    }

    [TestCase("compare")]
    [TestCase("embed", "hello")]
    [TestCase("embed-corpus", "--input", "corpus.jsonl", "--output", "out")]
    [TestCase("rerank", "--query", "q", "--document", "d")]
    [TestCase("tokenize", "hello")]
    [TestCase("info")]
    public async Task Every_model_command_reads_revision(string command, params string[] rest)
    {
        // --revision with a directory is a usage error in every command, which shows each one passes it to the locator.
        var run = await Lte.Run([command, "--model", TestPaths.FixtureDirectory, "--revision", "v1", .. rest]);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.Contain("--revision applies to hub ids"));
    }

    [Test]
    public async Task The_load_api_takes_an_id_and_reports_it_as_the_model_id()
    {
        using var cache = new TempCache();
        var hub = await FakeHub.StartAsync();
        await using (hub)
        {
            hub.Add(FakeRepo.FromFixture(Id, "tiny-mistral"));
            var hubOptions = new HubOptions { Endpoint = hub.Endpoint.ToString().TrimEnd('/'), CacheDirectory = cache.Root, HttpMessageHandler = hub.Handler };
            var load = new ModelLoadOptions { DType = ComputeDType.Float32, Hub = hubOptions };
            using var model = await EmbeddingModel.LoadAsync(Id, loadOptions: load);
            using var local = EmbeddingModel.Load(TestPaths.FixtureDirectory, loadOptions: new ModelLoadOptions { DType = ComputeDType.Float32 });
            Assert.That(model.ModelId, Is.EqualTo(Id));
            Assert.That(local.ModelId, Is.EqualTo("tiny-mistral"));
            Assert.That((await model.EmbedAsync("hello")).Vector, Is.EqualTo((await local.EmbedAsync("hello")).Vector).Within(1e-6));

            using var renamed = EmbeddingModel.Load(Id, loadOptions: new ModelLoadOptions { DType = ComputeDType.Float32, Hub = hubOptions with { Offline = true }, ModelId = "my-model" });
            Assert.That(renamed.ModelId, Is.EqualTo("my-model"), "the explicit override wins");
        }
    }

    private static void AssertSameVectors(System.Text.Json.JsonElement actual, System.Text.Json.JsonElement expected)
    {
        var a = actual.GetProperty("data").EnumerateArray().ToArray();
        var e = expected.GetProperty("data").EnumerateArray().ToArray();
        Assert.That(a, Has.Length.EqualTo(e.Length));
        for (var i = 0; i < a.Length; i++)
        {
            var av = a[i].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();
            var ev = e[i].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();
            Assert.That(av, Is.EqualTo(ev).Within(1e-6), $"text {i}");
        }
    }
}
