namespace LastTokenEmbeddings.Tests;

/// <summary>Locates the vendored test fixtures.</summary>
public static class TestPaths
{
    private static readonly Lazy<string> Root = new(FindFixturesRoot);

    /// <summary>tests/fixtures/tiny-mistral.</summary>
    public static string FixtureDirectory => Path.Combine(Root.Value, "tiny-mistral");

    /// <summary>tests/fixtures/tokenizer-cases.json.</summary>
    public static string TokenizerCasesPath => Path.Combine(Root.Value, "tokenizer-cases.json");

    private static string FindFixturesRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "fixtures");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException(
            $"No tests/fixtures directory above {TestContext.CurrentContext.TestDirectory}.");
    }
}
