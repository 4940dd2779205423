using System.Text.Json;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Similarity;
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace PgVectorSearch.Tests;

/// <summary>
/// The sample against a real PostgreSQL with pgvector, started for these tests in a temporary directory: the fixture
/// texts are upserted (embedded by the registered generators) and searched by text (embedded the same way).
/// </summary>
[NonParallelizable]
public class PgVectorSearchTests
{
    private TemporaryPostgres? postgres;
    private NpgsqlDataSource? dataSource;

    private static string FixtureDirectory { get; } = FindFixture();

    private static string[] Texts { get; } = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureDirectory, "reference.json")))
        .RootElement.GetProperty("texts").EnumerateArray().Select(text => text.GetProperty("text").GetString()!).ToArray();

    private static Passage[] Passages => Texts.Select((text, i) => new Passage { Id = i, Text = text, Source = $"reference.json #{i}" }).ToArray();

    [OneTimeSetUp]
    public async Task StartPostgres()
    {
        var binaries = TemporaryPostgres.FindBinDirectory();
        if (binaries is null)
        {
            Assert.Ignore("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH, in /usr/lib/postgresql/*/bin or LTE_POSTGRES_BINDIR; " +
                "install them (Debian: apt-get install -y postgresql) to run the pgvector sample's tests.");
        }
        postgres = await TemporaryPostgres.StartAsync(binaries);
        await using (var probe = NpgsqlDataSource.Create(postgres.ConnectionString))
        await using (var command = probe.CreateCommand("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"))
        {
            if ((long)(await command.ExecuteScalarAsync())! == 0)
            {
                var version = await probe.CreateCommand("SHOW server_version").ExecuteScalarAsync();
                await postgres.DisposeAsync();
                postgres = null;
                Assert.Ignore($"pgvector is not installed for PostgreSQL {version} in {binaries}; build it for this server " +
                    "(docs/ecosystem.md gives the Debian commands) to run the pgvector sample's tests.");
            }
        }
        dataSource = await PassageStore.OpenDataSourceAsync(postgres.ConnectionString);
    }

    [OneTimeTearDown]
    public async Task StopPostgres()
    {
        if (dataSource is not null) await dataSource.DisposeAsync();
        if (postgres is not null) await postgres.DisposeAsync();
    }

    private static ServiceProvider Services(IPoolingStrategy pooling, PromptFormat prompt)
    {
        var services = new ServiceCollection();
        services.AddLastTokenEmbeddings(o =>
        {
            o.ModelDirectory = FixtureDirectory;
            o.Load = new ModelLoadOptions { DType = ComputeDType.Float32 };
            o.Embedding.Pooling = pooling;
            o.Embedding.Prompt = prompt;
        });
        services.AddKeyedLastTokenEmbeddingGenerator("document", TextRole.Document);
        services.AddKeyedLastTokenEmbeddingGenerator("query", TextRole.Query);
        return services.BuildServiceProvider();
    }

    private static IEmbeddingGenerator<string, Embedding<float>> Generator(IServiceProvider services, string key) =>
        services.GetRequiredKeyedService<IEmbeddingGenerator<string, Embedding<float>>>(key);

    [Test]
    public async Task Every_passage_is_found_first_by_its_own_text()
    {
        await using var services = Services(PoolingStrategies.Mean, PromptFormat.Raw);
        using var passages = PassageStore.Collection(dataSource!, "passages_raw", Generator(services, "document"), Generator(services, "query"));
        await passages.EnsureCollectionDeletedAsync();
        Assert.That(await passages.CollectionExistsAsync(), Is.False);
        await passages.EnsureCollectionExistsAsync();
        Assert.That(await passages.CollectionExistsAsync(), Is.True);
        await passages.UpsertAsync(Passages);

        for (var i = 0; i < Texts.Length; i++)
        {
            var hits = await passages.SearchAsync(Texts[i], top: 3).ToListAsync();
            Assert.That(hits, Has.Count.EqualTo(3));
            Assert.That(hits[0].Record.Id, Is.EqualTo(i), $"text {i}'s nearest passage");
            Assert.That(hits[0].Record.Text, Is.EqualTo(Texts[i]));
            Assert.That(hits[0].Score, Is.EqualTo(0).Within(1e-5), "cosine distance to itself");
            Assert.That(hits[1].Score, Is.GreaterThan(hits[0].Score!.Value));
        }

        var stored = await passages.GetAsync(3);
        Assert.That(stored!.Text, Is.EqualTo(Texts[3]));
        Assert.That(stored.Source, Is.EqualTo("reference.json #3"));
        await passages.UpsertAsync(new Passage { Id = 3, Text = "replaced", Source = null });
        Assert.That((await passages.GetAsync(3))!.Source, Is.Null, "upsert replaces");
        await passages.DeleteAsync(3);
        Assert.That(await passages.GetAsync(3), Is.Null);
        await passages.EnsureCollectionDeletedAsync();
    }

    [Test]
    public async Task Records_are_embedded_as_documents_and_searches_as_queries()
    {
        await using var services = Services(PoolingStrategies.LastTokenHidden, PromptFormat.E5Instruct());
        var model = services.GetRequiredService<IEmbeddingModel>();
        using var passages = PassageStore.Collection(dataSource!, "passages_e5", Generator(services, "document"), Generator(services, "query"));
        await passages.EnsureCollectionDeletedAsync();
        await passages.EnsureCollectionExistsAsync();
        await passages.UpsertAsync(Passages);

        // What the database should rank by: the query role's vector against each passage's document-role vector.
        var documents = await model.EmbedMatrixAsync(Texts, EmbeddingCallOptions.Document);
        var query = await model.EmbedMatrixAsync([Texts[0]], EmbeddingCallOptions.Query);
        var expected = CosineSimilarity.TopK(query, documents, k: 4)[0];

        var hits = await passages.SearchAsync(Texts[0], top: 4).ToListAsync();
        Assert.That(hits.Select(hit => hit.Record.Id), Is.EqualTo(expected.Select(hit => hit.Index)));
        for (var i = 0; i < hits.Count; i++)
            Assert.That(hits[i].Score, Is.EqualTo(1 - expected[i].Score).Within(1e-5), $"hit {i}: cosine distance of the query and document vectors");
        await passages.EnsureCollectionDeletedAsync();
    }

    [Test]
    public void A_vector_column_of_other_dimensions_is_refused_with_both_sizes_named()
    {
        using var services = Services(PoolingStrategies.LastTokenLogits, PromptFormat.Raw);
        var logits = Generator(services, "document");
        // The record type declares 64 dimensions; without the definition's override, 32000-wide logits do not fit.
        using var mismatched = new PostgresVectorCollection<int, Passage>(dataSource!, "passages_mismatch",
            new PostgresVectorCollectionOptions { EmbeddingGenerator = logits });
        Assert.That(async () => await mismatched.UpsertAsync(Passages[0]),
            Throws.InvalidOperationException.With.Message.Contains("32000").And.Message.Contains("64"));
    }

    private static string FindFixture()
    {
        for (var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "fixtures", "tiny-mistral");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/fixtures/tiny-mistral not found above " + TestContext.CurrentContext.TestDirectory);
    }
}
