namespace LastTokenEmbeddings.Tests.Documentation;

/// <summary>docs/api.md promises to list every public type of the library package.</summary>
public class ApiListTests
{
    [Test]
    public void Docs_api_md_names_every_public_type()
    {
        var repository = Path.GetFullPath(Path.Combine(TestPaths.FixtureDirectory, "..", "..", ".."));
        var apiMarkdown = File.ReadAllText(Path.Combine(repository, "docs", "api.md"));
        var missing = typeof(global::LastTokenEmbeddings.Embeddings.EmbeddingModel).Assembly.GetExportedTypes()
            .Where(type => !type.IsNested)
            .Select(type => type.Name.Split('`')[0])
            .Where(name => !apiMarkdown.Contains($"`{name}`", StringComparison.Ordinal) && !apiMarkdown.Contains($"`{name}<", StringComparison.Ordinal)
                           && !apiMarkdown.Contains($".{name}`", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.That(missing, Is.Empty, "public types missing from docs/api.md");
    }
}
