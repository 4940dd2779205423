using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>
/// Parquet: the id column (string or integer) and the text column (string, or binary holding UTF-8) by name; other
/// top-level columns of primitive types can be kept. Read one row group at a time.
/// </summary>
internal sealed class ParquetCorpusReader : ICorpusReader
{
    private static readonly JsonWriterOptions FieldWriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly CorpusInputSettings settings;
    private readonly ParquetReader reader;
    private readonly DataField idField;
    private readonly DataField textField;
    private readonly DataField[] keptFields;
    private readonly long[] rowGroupStarts;

    private ParquetCorpusReader(CorpusInputSettings settings, ParquetReader reader)
    {
        this.settings = settings;
        this.reader = reader;
        var topLevel = reader.Schema.Fields.OfType<DataField>().Where(f => f.MaxRepetitionLevel == 0).ToDictionary(f => f.Name, StringComparer.Ordinal);
        idField = Find(topLevel, settings.IdField, "--id-field");
        textField = Find(topLevel, settings.TextField, "--text-field");
        if (!IsString(idField) && !IsInteger(idField))
            throw new UsageException($"the Parquet id column '{idField.Name}' holds {idField.ClrType.Name}; it must hold strings or integers.");
        if (!IsString(textField) && !IsBinary(textField))
            throw new UsageException($"the Parquet text column '{textField.Name}' holds {textField.ClrType.Name}; it must hold strings or UTF-8 bytes.");
        var unknown = settings.Keep.Names.Where(name => !topLevel.ContainsKey(name)).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"--keep-fields names {string.Join(", ", unknown.Select(n => $"'{n}'"))}, not among the top-level primitive columns ({Describe(topLevel.Keys)}).");
        var unsupported = settings.Keep.Names.Select(name => topLevel[name]).FirstOrDefault(f => !ColumnValues.IsSupported(f));
        if (unsupported is not null)
            throw new UsageException($"the Parquet column '{unsupported.Name}' ({unsupported.ClrType.Name}) cannot be kept; keep other columns by name.");
        // "all" keeps every top-level column of a primitive type (nested columns are not kept).
        keptFields = [.. reader.Schema.Fields.OfType<DataField>()
            .Where(f => f.Name != idField.Name && f.Name != textField.Name && settings.Keep.Keeps(f.Name) && ColumnValues.IsSupported(f))];
        rowGroupStarts = new long[reader.RowGroupCount + 1];
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            rowGroupStarts[g + 1] = rowGroupStarts[g] + group.RowCount;
        }
        TotalUnits = rowGroupStarts[^1];
    }

    /// <summary>Opens the file and checks its columns against the settings.</summary>
    public static async Task<ParquetCorpusReader> OpenAsync(CorpusInputSettings settings, CancellationToken cancellationToken)
    {
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(settings.Path, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException)
        {
            throw new CliRuntimeException($"cannot read the Parquet input '{settings.Path}': {e.Message}", e);
        }
        try
        {
            return new ParquetCorpusReader(settings, reader);
        }
        catch
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public long TotalUnits { get; }

    public long UnitsAt(InputPosition position) => position.Records;

    private static DataField Find(Dictionary<string, DataField> fields, string name, string option) =>
        fields.TryGetValue(name, out var field) ? field
            : throw new UsageException($"the Parquet input has no top-level column '{name}' (columns: {Describe(fields.Keys)}); choose one with {option}.");

    private static string Describe(IEnumerable<string> names) => string.Join(", ", names.Take(20).Select(n => $"'{n}'"));

    private static bool IsString(DataField field) => field.ClrType == typeof(ReadOnlyMemory<char>) || field.ClrType == typeof(string);

    private static bool IsBinary(DataField field) => field.ClrType == typeof(ReadOnlyMemory<byte>) || field.ClrType == typeof(byte[]);

    private static bool IsInteger(DataField field) =>
        field.ClrType == typeof(int) || field.ClrType == typeof(long) || field.ClrType == typeof(short) || field.ClrType == typeof(sbyte)
        || field.ClrType == typeof(byte) || field.ClrType == typeof(ushort) || field.ClrType == typeof(uint) || field.ClrType == typeof(ulong);

    public async IAsyncEnumerable<InputRecord> ReadAsync(InputPosition start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (start.Records > TotalUnits)
            throw new CliRuntimeException($"the input '{settings.Path}' has {TotalUnits} rows, fewer than the position the output records ({start.Records}).");
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            if (rowGroupStarts[g + 1] <= start.Records)
                continue;
            var rows = (int)(rowGroupStarts[g + 1] - rowGroupStarts[g]);
            string?[] ids;
            string?[] texts;
            bool[] invalidText;
            object?[][] kept;
            using (var group = reader.OpenRowGroupReader(g))
            {
                ids = await ReadIdsAsync(group, rows, cancellationToken).ConfigureAwait(false);
                (texts, invalidText) = await ReadTextsAsync(group, rows, cancellationToken).ConfigureAwait(false);
                kept = new object?[keptFields.Length][];
                for (var k = 0; k < keptFields.Length; k++)
                    kept[k] = await ColumnValues.ReadAsync(group, keptFields[k], rows, cancellationToken).ConfigureAwait(false);
            }
            for (var i = (int)Math.Max(0, start.Records - rowGroupStarts[g]); i < rows; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var row = rowGroupStarts[g] + i;
                yield return ToRecord(row, ids[i], texts[i], invalidText[i], kept, i);
            }
        }
    }

    private InputRecord ToRecord(long row, string? id, string? text, bool invalidText, object?[][] kept, int index)
    {
        var end = new InputPosition(row + 1, 0, 0);
        InputRecord Bad(string? goodId, string why) => new(row, null, end, goodId, null, null, why);
        if (id is null or "")
            return Bad(null, $"missing id (column '{idField.Name}')");
        if (!TextChecks.IsWellFormed(id))
            return Bad(null, "the id holds an unpaired UTF-16 surrogate");
        if (invalidText)
            return Bad(id, $"invalid UTF-8 in the text (column '{textField.Name}')");
        if (text is null)
            return Bad(id, $"missing text (column '{textField.Name}')");
        if (!TextChecks.IsWellFormed(text))
            return Bad(id, "the text holds an unpaired UTF-16 surrogate");
        return new InputRecord(row, null, end, id, text, settings.Keep.Any ? KeptFields(kept, index) : null, null);
    }

    private string KeptFields(object?[][] kept, int index)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, FieldWriterOptions))
        {
            writer.WriteStartObject();
            for (var k = 0; k < keptFields.Length; k++)
            {
                writer.WritePropertyName(keptFields[k].Name);
                ColumnValues.WriteJson(writer, kept[k][index]);
            }
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private async Task<string?[]> ReadIdsAsync(ParquetRowGroupReader group, int rows, CancellationToken cancellationToken)
    {
        if (IsString(idField))
        {
            var strings = new string?[rows];
            await group.ReadAsync(idField, strings.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            return CheckRequired(idField, strings);
        }
        var values = await ColumnValues.ReadAsync(group, idField, rows, cancellationToken).ConfigureAwait(false);
        return [.. values.Select(v => v is null ? null : Convert.ToString(v, CultureInfo.InvariantCulture))];
    }

    private async Task<(string?[] Texts, bool[] Invalid)> ReadTextsAsync(ParquetRowGroupReader group, int rows, CancellationToken cancellationToken)
    {
        var texts = new string?[rows];
        var invalid = new bool[rows];
        if (IsString(textField))
        {
            await group.ReadAsync(textField, texts.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            return (CheckRequired(textField, texts), invalid);
        }
        var bytes = new byte[]?[rows];
        await group.ReadAsync(textField, bytes.AsMemory(), null, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < rows; i++)
        {
            if (bytes[i] is { } value)
            {
                texts[i] = TextChecks.DecodeUtf8(value);
                invalid[i] = texts[i] is null;
            }
        }
        return (texts, invalid);
    }

    /// <summary>A required column cannot hold nulls; if the decoder reports some, stop rather than reject good records.</summary>
    private string?[] CheckRequired(DataField field, string?[] values) =>
        field.IsNullable || Array.IndexOf(values, null) < 0 ? values
            : throw new CliRuntimeException($"reading the required Parquet column '{field.Name}' of '{settings.Path}' gave nulls; the file or its decoding is broken.");

    public ValueTask DisposeAsync() => reader.DisposeAsync();
}

/// <summary>Reads top-level primitive Parquet columns as boxed values and writes them as JSON.</summary>
internal static class ColumnValues
{
    public static bool IsSupported(DataField field) =>
        field.MaxRepetitionLevel == 0 && (field.ClrType == typeof(ReadOnlyMemory<char>) || field.ClrType == typeof(ReadOnlyMemory<byte>)
            || field.ClrType == typeof(bool) || field.ClrType == typeof(sbyte) || field.ClrType == typeof(byte) || field.ClrType == typeof(short)
            || field.ClrType == typeof(ushort) || field.ClrType == typeof(int) || field.ClrType == typeof(uint) || field.ClrType == typeof(long)
            || field.ClrType == typeof(ulong) || field.ClrType == typeof(float) || field.ClrType == typeof(double) || field.ClrType == typeof(decimal)
            || field.ClrType == typeof(DateTime) || field.ClrType == typeof(DateOnly) || field.ClrType == typeof(TimeOnly) || field.ClrType == typeof(TimeSpan)
            || field.ClrType == typeof(Guid));

    public static async Task<object?[]> ReadAsync(ParquetRowGroupReader group, DataField field, int rows, CancellationToken cancellationToken)
    {
        var type = field.ClrType;
        if (type == typeof(ReadOnlyMemory<char>))
        {
            var strings = new string?[rows];
            await group.ReadAsync(field, strings.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            return strings;
        }
        if (type == typeof(ReadOnlyMemory<byte>))
        {
            var bytes = new byte[]?[rows];
            await group.ReadAsync(field, bytes.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            return bytes;
        }
        return type switch
        {
            _ when type == typeof(bool) => await Read<bool>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(sbyte) => await Read<sbyte>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(byte) => await Read<byte>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(short) => await Read<short>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(ushort) => await Read<ushort>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(int) => await Read<int>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(uint) => await Read<uint>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(long) => await Read<long>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(ulong) => await Read<ulong>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(float) => await Read<float>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(double) => await Read<double>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(decimal) => await Read<decimal>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(DateTime) => await Read<DateTime>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(DateOnly) => await Read<DateOnly>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(TimeOnly) => await Read<TimeOnly>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(TimeSpan) => await Read<TimeSpan>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(Guid) => await Read<Guid>(group, field, rows, cancellationToken).ConfigureAwait(false),
            _ => throw new NotSupportedException($"Parquet column '{field.Name}' of {type.Name} is not supported."),
        };
    }

    private static async Task<object?[]> Read<T>(ParquetRowGroupReader group, DataField field, int rows, CancellationToken cancellationToken)
        where T : struct
    {
        // A required column is read into plain values: Parquet.Net 6.1 can report stale nulls when a required column is
        // read into a nullable buffer after other reads in the same process.
        if (!field.IsNullable)
        {
            var required = new T[rows];
            await group.ReadAsync<T>(field, required.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            return [.. required.Select(v => (object?)v)];
        }
        var values = new T?[rows];
        await group.ReadAsync<T>(field, values.AsMemory(), null, cancellationToken).ConfigureAwait(false);
        return [.. values.Select(v => v.HasValue ? (object)v.Value : null)];
    }

    /// <summary>A value as JSON: numbers and booleans as such, strings, binary as base64, dates and times in ISO 8601.</summary>
    public static void WriteJson(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null: writer.WriteNullValue(); break;
            case string s: writer.WriteStringValue(s); break;
            case byte[] b: writer.WriteBase64StringValue(b); break;
            case bool b: writer.WriteBooleanValue(b); break;
            case float f when float.IsFinite(f): writer.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): writer.WriteNumberValue(d); break;
            case float or double: writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
            case decimal m: writer.WriteNumberValue(m); break;
            case sbyte or byte or short or ushort or int: writer.WriteNumberValue(Convert.ToInt32(value, CultureInfo.InvariantCulture)); break;
            case uint or long: writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
            case ulong u: writer.WriteNumberValue(u); break;
            case DateTime t: writer.WriteStringValue(t.ToString("O", CultureInfo.InvariantCulture)); break;
            case DateOnly d: writer.WriteStringValue(d.ToString("O", CultureInfo.InvariantCulture)); break;
            case TimeOnly t: writer.WriteStringValue(t.ToString("O", CultureInfo.InvariantCulture)); break;
            case TimeSpan t: writer.WriteStringValue(t.ToString("c", CultureInfo.InvariantCulture)); break;
            case Guid g: writer.WriteStringValue(g); break;
            default: writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
        }
    }
}
