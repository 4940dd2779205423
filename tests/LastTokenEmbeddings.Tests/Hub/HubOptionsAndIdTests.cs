using LastTokenEmbeddings.Hub;

namespace LastTokenEmbeddings.Tests.Hub;

/// <summary>Environment variables as huggingface_hub reads them; model id syntax; display ids.</summary>
public class HubOptionsAndIdTests
{
    private static HubOptions FromEnvironment(params (string Name, string Value)[] variables)
    {
        var environment = variables.ToDictionary(v => v.Name, v => v.Value);
        environment.TryAdd("HOME", "/home/someone");
        return HubOptions.FromEnvironment(name => environment.GetValueOrDefault(name));
    }

    [Test]
    public void Cache_directory_follows_huggingface_hub_precedence()
    {
        Assert.That(FromEnvironment().CacheDirectory, Is.EqualTo(Path.Combine("/home/someone", ".cache", "huggingface", "hub")));
        Assert.That(FromEnvironment(("XDG_CACHE_HOME", "/xdg")).CacheDirectory, Is.EqualTo(Path.Combine("/xdg", "huggingface", "hub")));
        Assert.That(FromEnvironment(("XDG_CACHE_HOME", "/xdg"), ("HF_HOME", "/hf")).CacheDirectory, Is.EqualTo(Path.Combine("/hf", "hub")));
        Assert.That(FromEnvironment(("HF_HOME", "/hf"), ("HUGGINGFACE_HUB_CACHE", "/legacy")).CacheDirectory, Is.EqualTo("/legacy"));
        Assert.That(FromEnvironment(("HF_HOME", "/hf"), ("HUGGINGFACE_HUB_CACHE", "/legacy"), ("HF_HUB_CACHE", "/cache")).CacheDirectory, Is.EqualTo("/cache"));
        Assert.That(FromEnvironment(("HF_HUB_CACHE", "~/models")).CacheDirectory,
            Is.EqualTo(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "models")), "a leading ~ is expanded, as os.path.expanduser does");
    }

    [Test]
    public void Token_comes_from_HF_TOKEN_else_the_token_file()
    {
        using var home = new TempCache();
        File.WriteAllText(Path.Combine(home.Root, "token"), "hf_FromHomeFile\n");
        var tokenPath = Path.Combine(home.Root, "elsewhere-token");
        File.WriteAllText(tokenPath, "  hf_FromTokenPath  ");

        Assert.That(FromEnvironment(("HF_HOME", home.Root)).Token, Is.EqualTo("hf_FromHomeFile"), "HF_HOME/token, stripped");
        Assert.That(FromEnvironment(("HF_HOME", home.Root), ("HF_TOKEN_PATH", tokenPath)).Token, Is.EqualTo("hf_FromTokenPath"));
        Assert.That(FromEnvironment(("HF_HOME", home.Root), ("HUGGING_FACE_HUB_TOKEN", "hf_Legacy")).Token, Is.EqualTo("hf_Legacy"));
        Assert.That(FromEnvironment(("HF_HOME", home.Root), ("HUGGING_FACE_HUB_TOKEN", "hf_Legacy"), ("HF_TOKEN", "hf_FromVariable")).Token, Is.EqualTo("hf_FromVariable"));
        Assert.That(FromEnvironment(("HF_HOME", home.Root), ("HF_TOKEN", "hf_FromVariable"), ("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")).Token, Is.Null);
        Assert.That(FromEnvironment(("HF_HOME", Path.Combine(home.Root, "none"))).Token, Is.Null);
        Assert.That(FromEnvironment(("HF_HOME", Path.Combine(home.Root, "none")), ("HF_TOKEN", "   ")).Token, Is.Null, "an empty token is none");
    }

    [Test]
    public void Endpoint_offline_switch_and_timeouts_come_from_their_variables()
    {
        Assert.That(FromEnvironment().Endpoint, Is.EqualTo("https://huggingface.co"));
        Assert.That(FromEnvironment(("HF_ENDPOINT", "https://mirror.example/")).Endpoint, Is.EqualTo("https://mirror.example"));
        foreach (var value in new[] { "1", "ON", "yes", "True" })
            Assert.That(FromEnvironment(("HF_HUB_OFFLINE", value)).Offline, Is.True, value);
        foreach (var value in new[] { "0", "off", "", "no" })
            Assert.That(FromEnvironment(("HF_HUB_OFFLINE", value)).Offline, Is.False, value);
        Assert.That(FromEnvironment(("TRANSFORMERS_OFFLINE", "1")).Offline, Is.True);
        Assert.That(FromEnvironment(("HF_HUB_ETAG_TIMEOUT", "3"), ("HF_HUB_DOWNLOAD_TIMEOUT", "42.5")), Has.Property(nameof(HubOptions.MetadataTimeout)).EqualTo(TimeSpan.FromSeconds(3))
            .And.Property(nameof(HubOptions.DownloadTimeout)).EqualTo(TimeSpan.FromSeconds(42.5)));
        Assert.That(FromEnvironment().Revision, Is.EqualTo("main"));
    }

    [TestCase("Qwen/Qwen3-Embedding-0.6B", true)]
    [TestCase("intfloat/e5-mistral-7b-instruct", true)]
    [TestCase("sentence-transformers/all-MiniLM-L6-v2", true)]
    [TestCase("my_org/model.v2_final", true)]
    [TestCase("gpt2", false)] // legacy unprefixed ids: use the organisation's id
    [TestCase("org/name/extra", false)]
    [TestCase("/abs/path", false)]
    [TestCase("./models/x", false)]
    [TestCase("../x/y", false)]
    [TestCase("org/-name", false)]
    [TestCase("org/name.", false)]
    [TestCase("org/na--me", false)]
    [TestCase("org/na..me", false)]
    [TestCase("org/name.git", false)]
    [TestCase("org/name with space", false)]
    [TestCase("C:/models/x", false)]
    [TestCase("org\\name", false)]
    [TestCase("", false)]
    public void Model_ids_are_ORG_slash_NAME_as_huggingface_hub_validates_them(string value, bool isId)
    {
        Assert.That(HuggingFaceHub.IsModelId(value), Is.EqualTo(isId));
    }

    [Test]
    public void A_name_longer_than_96_characters_is_not_an_id()
    {
        Assert.That(HuggingFaceHub.IsModelId("org/" + new string('a', 96)), Is.True);
        Assert.That(HuggingFaceHub.IsModelId("org/" + new string('a', 97)), Is.False);
    }

    [Test]
    public void An_existing_directory_wins_over_an_id()
    {
        using var root = new TempCache();
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, Path.Combine(root.Root, "org", "name"));
        Directory.CreateDirectory(Path.Combine(root.Root, "org", "name"));

        Assert.That(HuggingFaceHub.IsHubModelReference("org/name-that-is-not-a-folder-here"), Is.True);
        Assert.That(HuggingFaceHub.IsHubModelReference(TestPaths.FixtureDirectory), Is.False);
        Assert.That(HuggingFaceHub.IsHubModelReference(relative), Is.False);
        Assert.That(HuggingFaceHub.IsHubModelReference("not-an-id"), Is.False);
    }

    [Test]
    public async Task ResolveModelDirectory_returns_a_folder_as_is_and_refuses_what_is_neither()
    {
        Assert.That(await HuggingFaceHub.ResolveModelDirectoryAsync(TestPaths.FixtureDirectory), Is.EqualTo(Path.GetFullPath(TestPaths.FixtureDirectory)));
        Assert.That(async () => await HuggingFaceHub.ResolveModelDirectoryAsync("no-such-folder"), Throws.InstanceOf<DirectoryNotFoundException>().With.Message.Contains("no-such-folder"));
        Assert.That(async () => await HuggingFaceHub.ResolveSnapshotAsync("not an id"), Throws.ArgumentException);
        Assert.That(async () => await HuggingFaceHub.ResolveSnapshotAsync("org/name", new HubOptions { Revision = "../../etc", Offline = true }), Throws.ArgumentException);
    }

    [Test]
    public void Display_id_is_the_id_the_folder_name_or_the_id_of_a_cache_snapshot()
    {
        using var cache = new TempCache();
        var snapshot = Path.Combine(cache.Root, "models--Qwen--Qwen3-Embedding-0.6B", "snapshots", new string('a', 40));
        Directory.CreateDirectory(snapshot);

        Assert.That(HuggingFaceHub.GetDisplayModelId("Qwen/Qwen3-Embedding-0.6B"), Is.EqualTo("Qwen/Qwen3-Embedding-0.6B"));
        Assert.That(HuggingFaceHub.GetDisplayModelId(snapshot), Is.EqualTo("Qwen/Qwen3-Embedding-0.6B"));
        Assert.That(HuggingFaceHub.GetDisplayModelId(snapshot + Path.DirectorySeparatorChar), Is.EqualTo("Qwen/Qwen3-Embedding-0.6B"));
        Assert.That(HuggingFaceHub.GetDisplayModelId(TestPaths.FixtureDirectory), Is.EqualTo("tiny-mistral"));
        Assert.That(HuggingFaceHub.GetDisplayModelId(Path.Combine(cache.Root, "models--Qwen--Qwen3-Embedding-0.6B")), Is.EqualTo("models--Qwen--Qwen3-Embedding-0.6B"));
    }

    [Test]
    public void Options_print_without_the_token()
    {
        var options = new HubOptions { Token = "hf_ShouldNotBePrinted" };
        Assert.That(options.ToString(), Does.Not.Contain("hf_ShouldNotBePrinted").And.Contain("Token = ***").And.Contain("Revision = main"));
    }
}
