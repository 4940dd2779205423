namespace LastTokenEmbeddings.Tests;

/// <summary>Locates the vendored test fixtures relative to the test assembly.</summary>
public static class TestPaths
{
    private static readonly Lazy<string> FixturesRoot = new(FindFixturesRoot);

    /// <summary>tests/fixtures/tiny-mistral: the tiny sharded Mistral checkpoint and its tokenizer.</summary>
    public static string FixtureDirectory => Path.Combine(FixturesRoot.Value, "tiny-mistral");

    /// <summary>tests/fixtures/tokenizer-cases.json.</summary>
    public static string TokenizerCasesPath => Path.Combine(FixturesRoot.Value, "tokenizer-cases.json");

    private static string FindFixturesRoot()
    {
        var start = TestContext.CurrentContext.TestDirectory;
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "fixtures");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException($"No tests/fixtures directory above {start}.");
    }
}
