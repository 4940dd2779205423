using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Server;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.AspNetCore.Tests;

/// <summary>The host's command line and its <c>LTE_*</c> environment fallbacks.</summary>
[NonParallelizable]
public class ServerCommandLineTests
{
    private static ServerSettings Parse(params string[] args)
    {
        var commandLine = new ServerCommandLine();
        var result = commandLine.Root.Parse(args);
        Assert.That(commandLine.Problems(result), Is.Empty);
        return commandLine.Settings(result);
    }

    private static IReadOnlyList<string> Errors(params string[] args)
    {
        var commandLine = new ServerCommandLine();
        return commandLine.Problems(commandLine.Root.Parse(args));
    }

    [Test]
    public void Options_map_onto_the_settings()
    {
        var settings = Parse("--model", "org/name", "--port", "9000", "--host", "0.0.0.0", "--dtype", "bfloat16", "--max-concurrent-requests", "3",
            "--max-client-batch-size", "5", "--payload-limit", "1000", "--auto-truncate", "--no-cross-request-batching", "--default-input-type", "document",
            "--accept-any-model-name", "--served-model-name", "emb", "--max-tokens", "128", "--prompt", "e5-instruct", "--instruction", "Find it",
            "--pooling", "mean", "--max-batch-tokens", "4096", "--max-batch-requests", "16");
        Assert.That(settings.Model, Is.EqualTo("org/name"));
        Assert.That(settings.Port, Is.EqualTo(9000));
        Assert.That(settings.Host, Is.EqualTo("0.0.0.0"));
        Assert.That(settings.Load.DType, Is.EqualTo(ComputeDType.BFloat16));
        Assert.That(settings.Server.MaxConcurrentRequests, Is.EqualTo(3));
        Assert.That(settings.Server.MaxClientBatchSize, Is.EqualTo(5));
        Assert.That(settings.Server.MaxRequestBodyBytes, Is.EqualTo(1000));
        Assert.That(settings.Server.AutoTruncate, Is.True);
        Assert.That(settings.Server.CrossRequestBatching, Is.False);
        Assert.That(settings.Server.DefaultInputType, Is.EqualTo(TextRole.Document));
        Assert.That(settings.Server.RequireMatchingModelName, Is.False);
        Assert.That(settings.Server.ServedModelName, Is.EqualTo("emb"));
        Assert.That(settings.Embedding.MaxTokens, Is.EqualTo(128));
        Assert.That(settings.Embedding.Prompt!.Name, Does.Contain("e5"));
        Assert.That(settings.Embedding.Pooling!.Name, Is.EqualTo("mean"));
        Assert.That(settings.Embedding.MaxBatchTokens, Is.EqualTo(4096));
        Assert.That(settings.Embedding.MaxBatchSize, Is.EqualTo(16));
    }

    [Test]
    public void Revisions_apply_to_their_own_hub_model()
    {
        var settings = Parse("--model", "org/embedder", "--revision", "v2.0", "--reranker", "org/reranker", "--reranker-revision", "0123abc");
        Assert.That(settings.Load.Hub!.Revision, Is.EqualTo("v2.0"));
        Assert.That(settings.RerankerLoad.Hub!.Revision, Is.EqualTo("0123abc"));

        var withoutRevisions = Parse("--model", "org/embedder", "--reranker", "org/reranker");
        Assert.That(withoutRevisions.Load.Hub, Is.Null, "the environment's hub settings at main");
        Assert.That(withoutRevisions.RerankerLoad.Hub, Is.Null);
    }

    [Test]
    public void Defaults_are_the_library_defaults()
    {
        var settings = Parse("--model", "dir");
        Assert.That(settings.Port, Is.EqualTo(8080));
        Assert.That(settings.Host, Is.EqualTo("127.0.0.1"));
        Assert.That(settings.Server.ApiKey, Is.Null);
        Assert.That(settings.Server.MaxConcurrentRequests, Is.EqualTo(new EmbeddingServerOptions().MaxConcurrentRequests));
        Assert.That(settings.Server.CrossRequestBatching, Is.True);
        Assert.That(settings.Embedding.Prompt, Is.Null, "the model's declared prompts");
    }

    [Test]
    public void Environment_variables_fill_in_what_the_command_line_leaves_out()
    {
        var variables = new Dictionary<string, string>
        {
            ["LTE_MODEL"] = "org/env-model", ["LTE_REVISION"] = "v3", ["LTE_PORT"] = "7000", ["LTE_API_KEY"] = "sk-env", ["LTE_AUTO_TRUNCATE"] = "1", ["LTE_MAX_CONCURRENT_REQUESTS"] = "9",
        };
        try
        {
            foreach (var (name, value) in variables)
                Environment.SetEnvironmentVariable(name, value);
            var settings = Parse("--port", "7001");
            Assert.That(settings.Model, Is.EqualTo("org/env-model"));
            Assert.That(settings.Load.Hub!.Revision, Is.EqualTo("v3"));
            Assert.That(settings.Port, Is.EqualTo(7001), "the command line wins");
            Assert.That(settings.Server.ApiKey, Is.EqualTo("sk-env"));
            Assert.That(settings.Server.AutoTruncate, Is.True);
            Assert.That(settings.Server.MaxConcurrentRequests, Is.EqualTo(9));

            Environment.SetEnvironmentVariable("LTE_PORT", "eighty");
            Assert.That(Errors(), Has.Some.Contains("LTE_PORT"));
        }
        finally
        {
            foreach (var name in variables.Keys)
                Environment.SetEnvironmentVariable(name, null);
        }
    }

    [TestCase(new string[0], "--model")]
    [TestCase(new[] { "--model", "m", "--port", "70000" }, "--port")]
    [TestCase(new[] { "--model", "m", "--dtype", "float64" }, "float64")]
    [TestCase(new[] { "--model", "m", "--instruction", "x" }, "--instruction")]
    [TestCase(new[] { "--model", "org/name", "--revision", " " }, "--revision must not be empty")]
    [TestCase(new[] { "--model", ".", "--revision", "v1" }, "--revision needs --model ORG/NAME")]
    [TestCase(new[] { "--model", "org/name", "--reranker-revision", "v1" }, "--reranker-revision needs --reranker ORG/NAME")]
    public void Bad_command_lines_are_refused(string[] args, string mentioned)
    {
        Assert.That(Errors(args), Has.Some.Contains(mentioned));
    }
}
