using System.Globalization;
using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Npgsql;

namespace PgVectorSearch;

/// <summary>Options of a <see cref="PostgresVectorCollection{TKey, TRecord}"/>.</summary>
public sealed class PostgresVectorCollectionOptions : VectorStoreCollectionOptions
{
    /// <summary>
    /// Embeds the strings given to <c>SearchAsync</c>; <see langword="null"/>: <see cref="VectorStoreCollectionOptions.EmbeddingGenerator"/>.
    /// Models such as E5 embed queries and documents differently: give records the document generator and searches the query one.
    /// </summary>
    public IEmbeddingGenerator? SearchEmbeddingGenerator { get; set; }
}

/// <summary>
/// A minimal Microsoft.Extensions.VectorData collection over PostgreSQL with pgvector (no connector for it is
/// available to this project): one table per collection, records mapped from their <see cref="VectorStoreKeyAttribute"/>,
/// <see cref="VectorStoreDataAttribute"/> and <see cref="VectorStoreVectorAttribute"/> properties; a string vector
/// property is embedded by the configured <see cref="IEmbeddingGenerator{String, Embedding}"/> on upsert, and
/// <c>SearchAsync("text")</c> embeds its text the same way. Upsert, get and delete by key, and nearest-neighbour search;
/// no filters.
/// </summary>
/// <typeparam name="TKey">The key's type (int, long, Guid or string).</typeparam>
/// <typeparam name="TRecord">The record type.</typeparam>
/// <remarks>The data source must have pgvector's types loaded (<c>UseVector()</c> after <c>CREATE EXTENSION vector</c>); the collection does not own it.</remarks>
public sealed class PostgresVectorCollection<TKey, TRecord> : VectorStoreCollection<TKey, TRecord>
    where TKey : notnull
    where TRecord : class, new()
{
    private readonly NpgsqlDataSource dataSource;
    private readonly RecordMapping mapping;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? recordGenerator;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? searchGenerator;
    private readonly VectorStoreCollectionMetadata metadata;
    private readonly string table;

    /// <summary>A collection stored in table <paramref name="name"/>.</summary>
    /// <param name="dataSource">Connections, with pgvector's types loaded.</param>
    /// <param name="name">The collection's (and table's) name.</param>
    /// <param name="options">Embedding generators and an optional definition overriding the vector's dimensions, distance or index.</param>
    public PostgresVectorCollection(NpgsqlDataSource dataSource, string name, PostgresVectorCollectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        this.dataSource = dataSource;
        Name = name;
        table = Quote(name);
        mapping = RecordMapping.For(typeof(TRecord), typeof(TKey), options?.Definition);
        var configured = options?.Definition?.Properties.OfType<VectorStoreVectorProperty>().FirstOrDefault(p => p.Name == mapping.Vector.Property.Name)?.EmbeddingGenerator
            ?? options?.Definition?.EmbeddingGenerator
            ?? options?.EmbeddingGenerator;
        recordGenerator = AsTextGenerator(configured, "EmbeddingGenerator");
        searchGenerator = AsTextGenerator(options?.SearchEmbeddingGenerator, "SearchEmbeddingGenerator") ?? recordGenerator;
        if (mapping.Vector.IsText && recordGenerator is null)
            throw new InvalidOperationException($"{typeof(TRecord).Name}.{mapping.Vector.Property.Name} is a string: configure an EmbeddingGenerator to embed it.");
        metadata = new VectorStoreCollectionMetadata { VectorStoreSystemName = "postgresql", VectorStoreName = dataSource.DatabaseInfo(), CollectionName = name };
    }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override async Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1)");
        command.Parameters.Add(new NpgsqlParameter { Value = Name });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public override async Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default)
    {
        var columns = new List<string> { $"{Quote(mapping.Key.Column)} {mapping.Key.ColumnType} PRIMARY KEY" };
        columns.AddRange(mapping.Data.Select(p => $"{Quote(p.Column)} {p.ColumnType}"));
        columns.Add(string.Create(CultureInfo.InvariantCulture, $"{Quote(mapping.Vector.Column)} vector({mapping.Vector.Dimensions})"));
        await using var create = dataSource.CreateCommand($"CREATE TABLE IF NOT EXISTS {table} ({string.Join(", ", columns)})");
        await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (mapping.Vector.IndexKind == IndexKind.Flat)
            return; // exact search: a sequential scan, no index
        if (mapping.Vector.IndexKind != IndexKind.Hnsw)
            throw new NotSupportedException($"Index kind {mapping.Vector.IndexKind}: this sample collection creates HNSW indexes or none (Flat).");
        await using var index = dataSource.CreateCommand(
            $"CREATE INDEX IF NOT EXISTS {Quote($"{Name}_{mapping.Vector.Column}_hnsw")} ON {table} USING hnsw ({Quote(mapping.Vector.Column)} {OperatorClass()})");
        await index.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"DROP TABLE IF EXISTS {table}");
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<TRecord?> GetAsync(TKey key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        var includeVectors = CheckIncludeVectors(options?.IncludeVectors ?? false);
        await using var command = dataSource.CreateCommand($"SELECT {SelectList(includeVectors)} FROM {table} WHERE {Quote(mapping.Key.Column)} = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader, includeVectors) : null;
    }

    /// <summary>Not supported: this sample collection translates no filters.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override IAsyncEnumerable<TRecord> GetAsync(Expression<Func<TRecord, bool>> filter, int top, FilteredRecordRetrievalOptions<TRecord>? options = null,
        CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("This sample collection translates no filters; get records by key or search by vector.");

    /// <inheritdoc />
    public override async Task DeleteAsync(TKey key, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"DELETE FROM {table} WHERE {Quote(mapping.Key.Column)} = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override Task UpsertAsync(TRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return UpsertAsync([record], cancellationToken);
    }

    /// <summary>Inserts or replaces records in one transaction; string vectors of all of them are embedded in one generator call.</summary>
    /// <param name="records">The records.</param>
    /// <param name="cancellationToken">Cancels embedding and writing (nothing is written unless all is).</param>
    public override async Task UpsertAsync(IEnumerable<TRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var batch = records.ToArray();
        if (batch.Length == 0) return;
        var vectors = await VectorsOf(batch, cancellationToken).ConfigureAwait(false);

        var columns = new List<string> { mapping.Key.Column };
        columns.AddRange(mapping.Data.Select(p => p.Column));
        columns.Add(mapping.Vector.Column);
        var placeholders = string.Join(", ", columns.Select((_, i) => string.Create(CultureInfo.InvariantCulture, $"${i + 1}")));
        var updates = string.Join(", ", columns.Skip(1).Select(c => $"{Quote(c)} = EXCLUDED.{Quote(c)}"));
        var sql = $"INSERT INTO {table} ({string.Join(", ", columns.Select(Quote))}) VALUES ({placeholders}) ON CONFLICT ({Quote(mapping.Key.Column)}) DO UPDATE SET {updates}";

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var commands = new NpgsqlBatch(connection, transaction);
        for (var i = 0; i < batch.Length; i++)
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new NpgsqlParameter { Value = mapping.Key.Property.GetValue(batch[i]) ?? throw new ArgumentException($"Record {i} has no key.", nameof(records)) });
            foreach (var property in mapping.Data)
                command.Parameters.Add(new NpgsqlParameter { Value = property.Property.GetValue(batch[i]) ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter { Value = new Pgvector.Vector(vectors[i]) });
            commands.BatchCommands.Add(command);
        }
        await commands.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The <paramref name="top"/> records nearest to <paramref name="searchValue"/>: a string (embedded with the search
    /// generator), <see cref="ReadOnlyMemory{T}"/> of float, float[] or <see cref="Embedding{T}"/> of float. Scores are as
    /// the distance function defines them: distances (lower is closer) or similarities (higher is closer).
    /// </summary>
    /// <typeparam name="TInput">The search value's type.</typeparam>
    /// <param name="searchValue">What to search for.</param>
    /// <param name="top">How many records, at least 1.</param>
    /// <param name="options">Skip, score threshold and whether to return vectors (float vector properties only); filters are not supported.</param>
    /// <param name="cancellationToken">Cancels embedding and the query.</param>
    public override async IAsyncEnumerable<VectorSearchResult<TRecord>> SearchAsync<TInput>(TInput searchValue, int top, VectorSearchOptions<TRecord>? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        if (options?.Filter is not null)
            throw new NotSupportedException("This sample collection translates no filters.");
        var includeVectors = CheckIncludeVectors(options?.IncludeVectors ?? false);
        var query = await SearchVectorOf(searchValue, cancellationToken).ConfigureAwait(false);

        var (distance, score, closerIsLower) = DistanceSql();
        var threshold = options?.ScoreThreshold is null ? "" : $"WHERE {score} {(closerIsLower ? "<=" : ">=")} $4";
        await using var command = dataSource.CreateCommand(
            $"SELECT {SelectList(includeVectors)}, {score} FROM {table} {threshold} ORDER BY {distance} LIMIT $2 OFFSET $3");
        command.Parameters.Add(new NpgsqlParameter { Value = new Pgvector.Vector(query) });
        command.Parameters.Add(new NpgsqlParameter { Value = top });
        command.Parameters.Add(new NpgsqlParameter { Value = options?.Skip ?? 0 });
        if (options?.ScoreThreshold is { } value)
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return new VectorSearchResult<TRecord>(Read(reader, includeVectors), reader.GetDouble(reader.FieldCount - 1));
    }

    /// <summary>Returns the collection's <see cref="VectorStoreCollectionMetadata"/>, its <see cref="NpgsqlDataSource"/>, or itself.</summary>
    /// <param name="serviceType">The type asked for.</param>
    /// <param name="serviceKey">Must be <see langword="null"/>.</param>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(VectorStoreCollectionMetadata) ? metadata
            : serviceType == typeof(NpgsqlDataSource) ? dataSource
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    private static IEmbeddingGenerator<string, Embedding<float>>? AsTextGenerator(IEmbeddingGenerator? generator, string option) => generator switch
    {
        null => null,
        IEmbeddingGenerator<string, Embedding<float>> text => text,
        _ => throw new NotSupportedException($"{option} must be an IEmbeddingGenerator<string, Embedding<float>>, not {generator.GetType().Name}."),
    };

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private async Task<ReadOnlyMemory<float>[]> VectorsOf(TRecord[] records, CancellationToken cancellationToken)
    {
        var getter = mapping.Vector.Property;
        if (!mapping.Vector.IsText)
        {
            return records.Select(record => getter.GetValue(record) switch
            {
                ReadOnlyMemory<float> memory => memory,
                float[] array => (ReadOnlyMemory<float>)array,
                _ => throw new ArgumentException($"A record's {getter.Name} is empty.", nameof(records)),
            }).Select(CheckDimensions).ToArray();
        }
        var texts = records.Select(record => (string?)getter.GetValue(record) ?? "").ToArray();
        var embeddings = await recordGenerator!.GenerateAsync(texts, cancellationToken: cancellationToken).ConfigureAwait(false);
        return embeddings.Select(embedding => CheckDimensions(embedding.Vector)).ToArray();
    }

    private async Task<ReadOnlyMemory<float>> SearchVectorOf<TInput>(TInput searchValue, CancellationToken cancellationToken) => searchValue switch
    {
        string text when searchGenerator is not null =>
            CheckDimensions((await searchGenerator.GenerateAsync([text], cancellationToken: cancellationToken).ConfigureAwait(false))[0].Vector),
        string => throw new InvalidOperationException("Searching by text needs an embedding generator."),
        ReadOnlyMemory<float> memory => CheckDimensions(memory),
        float[] array => CheckDimensions(array),
        Embedding<float> embedding => CheckDimensions(embedding.Vector),
        _ => throw new NotSupportedException($"Search values are strings or float vectors, not {typeof(TInput).Name}."),
    };

    private ReadOnlyMemory<float> CheckDimensions(ReadOnlyMemory<float> vector) => vector.Length == mapping.Vector.Dimensions ? vector
        : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
            $"A vector has {vector.Length} dimensions but {Name}.{mapping.Vector.Column} holds {mapping.Vector.Dimensions}; set the dimensions to the model's (attribute or definition)."));

    private bool CheckIncludeVectors(bool includeVectors)
    {
        if (includeVectors && mapping.Vector.IsText)
            throw new NotSupportedException($"{mapping.Vector.Property.Name} is embedded from text; the stored vector cannot be returned as that text.");
        return includeVectors;
    }

    private string SelectList(bool includeVectors)
    {
        var columns = new List<string> { Quote(mapping.Key.Column) };
        columns.AddRange(mapping.Data.Select(p => Quote(p.Column)));
        if (includeVectors) columns.Add(Quote(mapping.Vector.Column));
        return string.Join(", ", columns);
    }

    private TRecord Read(NpgsqlDataReader reader, bool includeVectors)
    {
        var record = new TRecord();
        mapping.Key.Property.SetValue(record, reader.GetValue(0));
        for (var i = 0; i < mapping.Data.Count; i++)
        {
            if (mapping.Data[i].Property.CanWrite)
                mapping.Data[i].Property.SetValue(record, reader.IsDBNull(i + 1) ? null : reader.GetValue(i + 1));
        }
        if (includeVectors && !reader.IsDBNull(mapping.Data.Count + 1))
        {
            var vector = reader.GetFieldValue<Pgvector.Vector>(mapping.Data.Count + 1).Memory;
            mapping.Vector.Property.SetValue(record, mapping.Vector.Property.PropertyType == typeof(float[]) ? vector.ToArray() : vector);
        }
        return record;
    }

    /// <summary>The ordering expression over parameter $1, the score expression, and whether a lower score is closer.</summary>
    private (string Distance, string Score, bool CloserIsLower) DistanceSql()
    {
        var column = Quote(mapping.Vector.Column);
        return mapping.Vector.DistanceFunction switch
        {
            DistanceFunction.CosineDistance => ($"{column} <=> $1", $"({column} <=> $1)", true),
            DistanceFunction.CosineSimilarity => ($"{column} <=> $1", $"(1 - ({column} <=> $1))", false),
            DistanceFunction.DotProductSimilarity => ($"{column} <#> $1", $"(-({column} <#> $1))", false),
            DistanceFunction.NegativeDotProductSimilarity => ($"{column} <#> $1", $"({column} <#> $1)", true),
            DistanceFunction.EuclideanDistance => ($"{column} <-> $1", $"({column} <-> $1)", true),
            var other => throw new NotSupportedException($"Distance function {other} is not mapped by this sample collection."),
        };
    }

    private string OperatorClass() => mapping.Vector.DistanceFunction switch
    {
        DistanceFunction.CosineDistance or DistanceFunction.CosineSimilarity => "vector_cosine_ops",
        DistanceFunction.DotProductSimilarity or DistanceFunction.NegativeDotProductSimilarity => "vector_ip_ops",
        DistanceFunction.EuclideanDistance => "vector_l2_ops",
        var other => throw new NotSupportedException($"Distance function {other} is not mapped by this sample collection."),
    };
}

/// <summary>Describes a data source for <see cref="VectorStoreCollectionMetadata"/>.</summary>
internal static class NpgsqlDataSourceExtensions
{
    public static string? DatabaseInfo(this NpgsqlDataSource dataSource) =>
        new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).Database;
}
