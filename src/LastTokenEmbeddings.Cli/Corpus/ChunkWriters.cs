using System.Text.Encodings.Web;
using System.Text.Json;
using LastTokenEmbeddings.Cli.Output;
using Parquet;
using Parquet.Schema;

namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>One embedded record as it is written.</summary>
internal sealed record OutputRow(string Id, float[] Vector, int Tokens, bool Truncated, string? Fields);

/// <summary>Writes one chunk of output rows to one file.</summary>
internal interface IChunkWriter
{
    /// <summary>File extension, with the dot.</summary>
    string Extension { get; }

    /// <summary>Writes <paramref name="rows"/> to <paramref name="stream"/> (a new, seekable file).</summary>
    Task WriteAsync(Stream stream, IReadOnlyList<OutputRow> rows, CancellationToken cancellationToken);
}

/// <summary>
/// Parquet, one row group per chunk file. Columns: <c>id</c> (string, required), <c>embedding</c> (list of float32,
/// every list of the same length), <c>tokens</c> (int32), <c>truncated</c> (boolean) and, when fields are kept,
/// <c>fields</c> (string, optional: a JSON object). The file's key-value metadata records the dimension and settings.
/// </summary>
internal sealed class ParquetChunkWriter : IChunkWriter
{
    private readonly DataField<string> id = new("id", false);
    private readonly DataField<float> element = new("element", false);
    private readonly DataField<int> tokens = new("tokens", false);
    private readonly DataField<bool> truncated = new("truncated", false);
    private readonly DataField<string> fields = new("fields", true);
    private readonly ParquetSchema schema;
    private readonly int dimension;
    private readonly bool keepsFields;
    private readonly Dictionary<string, string> metadata;

    public ParquetChunkWriter(int dimension, bool keepsFields, IReadOnlyDictionary<string, string> metadata)
    {
        this.dimension = dimension;
        this.keepsFields = keepsFields;
        this.metadata = new Dictionary<string, string>(metadata);
        var embedding = new ListField("embedding", element);
        schema = keepsFields ? new ParquetSchema(id, embedding, tokens, truncated, fields) : new ParquetSchema(id, embedding, tokens, truncated);
    }

    public string Extension => ".parquet";

    public async Task WriteAsync(Stream stream, IReadOnlyList<OutputRow> rows, CancellationToken cancellationToken)
    {
        var writer = await ParquetWriter.CreateAsync(schema, stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        await using (writer.ConfigureAwait(false))
        {
            writer.CustomMetadata = metadata;
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(id, rows.Select(r => r.Id).ToArray()).ConfigureAwait(false);

            // A list column is written flat: every value, its repetition level (0 starts a row's list, 1 continues it)
            // and its definition level (every element present).
            var values = new float[rows.Count * dimension];
            var repetition = new int[values.Length];
            for (var r = 0; r < rows.Count; r++)
            {
                var vector = rows[r].Vector;
                if (vector.Length != dimension)
                    throw new InvalidOperationException($"record '{rows[r].Id}' has a {vector.Length}-dimensional vector; the output's dimension is {dimension}.");
                vector.CopyTo(values, r * dimension);
                repetition.AsSpan(r * dimension + 1, dimension - 1).Fill(1);
            }
            var definition = new int[values.Length];
            definition.AsSpan().Fill(element.MaxDefinitionLevel);
            await group.WriteAllPartsAsync<float>(element, values, definition, repetition, cancellationToken).ConfigureAwait(false);
            await group.WriteAsync<int>(tokens, rows.Select(r => r.Tokens).ToArray(), null, null, cancellationToken).ConfigureAwait(false);
            await group.WriteAsync<bool>(truncated, rows.Select(r => r.Truncated).ToArray(), null, null, cancellationToken).ConfigureAwait(false);
            if (keepsFields)
                await group.WriteAsync(fields, rows.Select(r => r.Fields).ToArray()).ConfigureAwait(false);
            group.CompleteValidate();
        }
    }
}

/// <summary>
/// JSON lines: <c>{"id": "...", "embedding": [...], "tokens": N, "truncated": false}</c> per record (plus
/// <c>"fields": {...}</c> when fields are kept). Floats are written in their shortest round-trippable form.
/// </summary>
internal sealed class JsonLinesChunkWriter : IChunkWriter
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    public string Extension => ".jsonl";

    public Task WriteAsync(Stream stream, IReadOnlyList<OutputRow> rows, CancellationToken cancellationToken)
    {
        // The file stream buffers; the writer hands it one line at a time.
        using (var writer = new Utf8JsonWriter(stream, Options))
        {
            foreach (var row in rows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                writer.WriteStartObject();
                writer.WriteString("id", row.Id);
                JsonOutput.WriteFloatArray(writer, "embedding", row.Vector);
                writer.WriteNumber("tokens", row.Tokens);
                writer.WriteBoolean("truncated", row.Truncated);
                if (row.Fields is not null)
                {
                    writer.WritePropertyName("fields");
                    writer.WriteRawValue(row.Fields, skipInputValidation: true);
                }
                writer.WriteEndObject();
                writer.Flush();
                stream.WriteByte((byte)'\n');
                writer.Reset();
            }
        }
        return Task.CompletedTask;
    }
}
