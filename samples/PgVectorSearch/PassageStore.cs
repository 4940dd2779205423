using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Npgsql;
using Pgvector.Npgsql;

namespace PgVectorSearch;

/// <summary>Opens the database and the passages collection the way an application would.</summary>
public static class PassageStore
{
    /// <summary>
    /// Makes sure pgvector is installed in the database (needs a role allowed to <c>CREATE EXTENSION</c>), then returns a
    /// data source with its <c>vector</c> type mapped.
    /// </summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    public static async Task<NpgsqlDataSource> OpenDataSourceAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using (var plain = NpgsqlDataSource.Create(connectionString))
        await using (var command = plain.CreateCommand("CREATE EXTENSION IF NOT EXISTS vector"))
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        // Built after the extension exists, so the data source finds the vector type when it loads types.
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.UseVector();
        return builder.Build();
    }

    /// <summary>
    /// The passages collection: records embedded as documents, searches embedded as queries, the vector column sized
    /// to the model (<see cref="EmbeddingGeneratorMetadata.DefaultModelDimensions"/>).
    /// </summary>
    /// <param name="dataSource">From <see cref="OpenDataSourceAsync"/>.</param>
    /// <param name="name">The table's name.</param>
    /// <param name="documents">Embeds passages.</param>
    /// <param name="queries">Embeds search strings; may be the same generator for symmetric models.</param>
    public static PostgresVectorCollection<int, Passage> Collection(NpgsqlDataSource dataSource, string name,
        IEmbeddingGenerator<string, Embedding<float>> documents, IEmbeddingGenerator<string, Embedding<float>> queries)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var dimensions = documents.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelDimensions
            ?? throw new InvalidOperationException("The generator does not say how many dimensions its vectors have.");
        return new PostgresVectorCollection<int, Passage>(dataSource, name, new PostgresVectorCollectionOptions
        {
            EmbeddingGenerator = documents,
            SearchEmbeddingGenerator = queries,
            Definition = new VectorStoreCollectionDefinition
            {
                Properties = [new VectorStoreVectorProperty(nameof(Passage.Embedding), typeof(string), dimensions)],
            },
        });
    }
}
