namespace LastTokenEmbeddings.Tests;

/// <summary>Locates the fixtures vendored under tests/fixtures, wherever the tests run from.</summary>
public static class TestPaths
{
    private static readonly Lazy<string> FixturesRoot = new(() =>
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures");
            if (Directory.Exists(candidate))
                return candidate;
        }
        throw new DirectoryNotFoundException("tests/fixtures not found above " + TestContext.CurrentContext.TestDirectory);
    });

    /// <summary>tests/fixtures/<paramref name="name"/>, e.g. "tiny-qwen3".</summary>
    public static string Fixture(string name) => Path.Combine(FixturesRoot.Value, name);

    /// <summary>tests/fixtures/tiny-mistral.</summary>
    public static string FixtureDirectory => Path.Combine(FixturesRoot.Value, "tiny-mistral");

    /// <summary>tests/fixtures/tokenizer-cases.json.</summary>
    public static string TokenizerCasesPath => Path.Combine(FixturesRoot.Value, "tokenizer-cases.json");
}
