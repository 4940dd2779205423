using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>
/// JSON lines: one JSON object per non-blank line, with a string or number id and a string text. Other fields are
/// kept (as raw JSON) or dropped by <see cref="CorpusInputSettings.Keep"/>.
/// </summary>
internal sealed class JsonLinesCorpusReader(CorpusInputSettings settings) : ICorpusReader
{
    private static readonly JsonWriterOptions FieldWriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public long TotalUnits { get; } = new FileInfo(settings.Path).Length;

    public long UnitsAt(InputPosition position) => position.Bytes;

    public async IAsyncEnumerable<InputRecord> ReadAsync(InputPosition start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var lines = TextFiles.OpenAt(settings.Path, start);
        var position = start;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var record = Next(lines, ref position);
            if (record is null)
                break;
            yield return record;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>The next record (blank lines skipped), or <see langword="null"/> at the end.</summary>
    private InputRecord? Next(ByteLineReader lines, ref InputPosition position)
    {
        while (lines.ReadLine(out var raw, out var tooLong))
        {
            var lineNumber = position.Lines + 1;
            var span = ByteLineReader.TrimTerminator(raw.Span);
            if (position.Bytes == 0 && span.StartsWith(TextFiles.Utf8Bom))
                span = span[TextFiles.Utf8Bom.Length..];
            var row = position.Records;
            var isRecord = tooLong || !ByteLineReader.IsBlank(span);
            position = new InputPosition(position.Records + (isRecord ? 1 : 0), lineNumber, lines.Offset);
            if (!isRecord)
                continue;
            if (tooLong)
                return new InputRecord(row, lineNumber, position, null, null, null, $"line longer than {ByteLineReader.MaxLineBytes >> 20} MiB");
            return Parse(span, row, lineNumber, position);
        }
        return null;
    }

    private InputRecord Parse(ReadOnlySpan<byte> line, long row, long lineNumber, InputPosition end)
    {
        InputRecord Bad(string? id, string problem) => new(row, lineNumber, end, id, null, null, problem);
        if (!Utf8.IsValid(line))
            return Bad(null, "invalid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line.ToArray());
        }
        catch (JsonException e)
        {
            return Bad(null, "not valid JSON: " + CliContext.OneLine(e.Message));
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return Bad(null, $"a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object");
            var (id, idProblem) = ReadId(root);
            if (idProblem is not null)
                return Bad(null, idProblem);
            if (!root.TryGetProperty(settings.TextField, out var textElement) || textElement.ValueKind == JsonValueKind.Null)
                return Bad(id, $"missing text (field '{settings.TextField}')");
            if (textElement.ValueKind != JsonValueKind.String)
                return Bad(id, $"text (field '{settings.TextField}') is a {textElement.ValueKind.ToString().ToLowerInvariant()}, not a string");
            if (TextChecks.TryGetString(textElement) is not { } text)
                return Bad(id, "text holds an unpaired UTF-16 surrogate escape");
            return new InputRecord(row, lineNumber, end, id, text, settings.Keep.Any ? KeptFields(root) : null, null);
        }
    }

    private (string? Id, string? Problem) ReadId(JsonElement root)
    {
        if (!root.TryGetProperty(settings.IdField, out var element) || element.ValueKind == JsonValueKind.Null)
            return (null, $"missing id (field '{settings.IdField}')");
        if (element.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
            return (null, $"id (field '{settings.IdField}') is a {element.ValueKind.ToString().ToLowerInvariant()}, not a string or number");
        var id = element.ValueKind == JsonValueKind.Number ? element.GetRawText() : TextChecks.TryGetString(element);
        if (id is null)
            return (null, "id holds an unpaired UTF-16 surrogate escape");
        return id.Length == 0 ? (null, $"empty id (field '{settings.IdField}')") : (id, null);
    }

    private string KeptFields(JsonElement root)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, FieldWriterOptions))
        {
            writer.WriteStartObject();
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == settings.IdField || property.Name == settings.TextField || !settings.Keep.Keeps(property.Name))
                    continue;
                property.WriteTo(writer);
            }
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Opening text inputs at a resume position.</summary>
internal static class TextFiles
{
    public static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    public static ByteLineReader OpenAt(string path, InputPosition position)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        try
        {
            if (position.Bytes > stream.Length)
                throw new CliRuntimeException($"the input '{path}' is shorter ({stream.Length} bytes) than the position the output records ({position.Bytes}).");
            stream.Seek(position.Bytes, SeekOrigin.Begin);
            return new ByteLineReader(stream, position.Bytes);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }
}
