using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>
/// CSV or TSV: a header row naming the columns (or none: columns are then named 1, 2, ...), then one record per row.
/// With quoting (RFC 4180, CSV's default), a field that starts with <c>"</c> runs to the closing quote, may hold
/// delimiters and line breaks, and writes a quote as <c>""</c>; without it (TSV's default) quotes are ordinary characters.
/// Every row must have as many fields as the header; blank lines are skipped.
/// </summary>
internal sealed class DelimitedCorpusReader : ICorpusReader
{
    private static readonly JsonWriterOptions FieldWriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly CorpusInputSettings settings;
    private readonly byte delimiter;
    private readonly string[] columns; // header names, or 1..n when there is no header (n from the first row)
    private readonly long dataStart; // byte offset and line count after the header
    private readonly long headerLines;
    private readonly int idColumn;
    private readonly int textColumn;
    private readonly int[] keptColumns;

    public DelimitedCorpusReader(CorpusInputSettings settings)
    {
        this.settings = settings;
        delimiter = settings.Format == "tsv" ? (byte)'\t' : (byte)',';
        TotalUnits = new FileInfo(settings.Path).Length;
        using var lines = TextFiles.OpenAt(settings.Path, InputPosition.Start);
        var position = InputPosition.Start;
        var first = NextFields(lines, ref position, out _, out var problem);
        if (settings.Header)
        {
            if (first is null)
                throw new CliRuntimeException($"the {settings.Format.ToUpperInvariant()} input '{settings.Path}' has no header row.");
            if (problem is not null)
                throw new CliRuntimeException($"the header row of '{settings.Path}' is unreadable: {problem}.");
            if (first.Contains(null))
                throw new CliRuntimeException($"the header row of '{settings.Path}' is not valid UTF-8.");
            columns = [.. first.Select(name => name!)];
            dataStart = position.Bytes;
            headerLines = position.Lines;
        }
        else
        {
            columns = [.. Enumerable.Range(1, first?.Count ?? 0).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        }
        idColumn = ColumnOf(settings.IdField, "--id-field");
        textColumn = ColumnOf(settings.TextField, "--text-field");
        var unknown = settings.Keep.Names.Where(name => !columns.Contains(name)).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"--keep-fields names {string.Join(", ", unknown.Select(n => $"'{n}'"))}, not among the columns ({Describe(columns)}).");
        keptColumns = [.. Enumerable.Range(0, columns.Length).Where(i => i != idColumn && i != textColumn && settings.Keep.Keeps(columns[i]))];
    }

    public long TotalUnits { get; }

    public long UnitsAt(InputPosition position) => position.Bytes;

    private int ColumnOf(string name, string option)
    {
        var index = Array.IndexOf(columns, name);
        if (index >= 0)
            return index;
        if (!settings.Header && int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= 1)
            return number - 1; // the first row may be short; rows are checked one by one
        throw new UsageException(settings.Header
            ? $"the input has no column '{name}' (columns: {Describe(columns)}); choose one with {option}."
            : $"{option} '{name}' must be a 1-based column number when the input has no header.");
    }

    private static string Describe(IEnumerable<string> names) => string.Join(", ", names.Take(20).Select(n => $"'{n}'"));

    public async IAsyncEnumerable<InputRecord> ReadAsync(InputPosition start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (start == InputPosition.Start)
            start = new InputPosition(0, headerLines, dataStart);
        using var lines = TextFiles.OpenAt(settings.Path, start);
        var position = start;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var row = position.Records;
            var line = position.Lines + 1;
            var fields = NextFields(lines, ref position, out var isRecord, out var problem);
            if (fields is null && !isRecord)
                break;
            position = position with { Records = row + 1 };
            yield return ToRecord(fields, row, line, position, problem);
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    private InputRecord ToRecord(List<string?>? fields, long row, long line, InputPosition end, string? problem)
    {
        InputRecord Bad(string? id, string why) => new(row, line, end, id, null, null, why);
        if (problem is not null || fields is null)
            return Bad(null, problem ?? "unreadable row");
        if (settings.Header && fields.Count != columns.Length)
            return Bad(null, $"has {fields.Count} fields; the header has {columns.Length}");
        string? Field(int index) => index < fields.Count ? fields[index] : null;
        if (Math.Max(idColumn, textColumn) >= fields.Count)
            return Bad(null, $"has {fields.Count} fields; column {Math.Max(idColumn, textColumn) + 1} is needed");
        var id = Field(idColumn);
        if (id is null)
            return Bad(null, $"invalid UTF-8 in the id (column '{columns.ElementAtOrDefault(idColumn) ?? settings.IdField}')");
        if (id.Length == 0)
            return Bad(null, $"missing id (column '{columns.ElementAtOrDefault(idColumn) ?? settings.IdField}')");
        var text = Field(textColumn);
        if (text is null)
            return Bad(id, $"invalid UTF-8 in the text (column '{columns.ElementAtOrDefault(textColumn) ?? settings.TextField}')");
        foreach (var kept in keptColumns)
        {
            if (kept < fields.Count && fields[kept] is null)
                return Bad(id, $"invalid UTF-8 in column '{columns[kept]}'");
        }
        return new InputRecord(row, line, end, id, text, settings.Keep.Any ? KeptFields(fields) : null, null);
    }

    private string KeptFields(List<string?> fields)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, FieldWriterOptions))
        {
            writer.WriteStartObject();
            foreach (var index in keptColumns)
            {
                if (index < fields.Count)
                    writer.WriteString(columns[index], fields[index]);
            }
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// The fields of the next row (blank lines skipped): each decoded from UTF-8, or <see langword="null"/> where the
    /// bytes are not valid UTF-8. <see langword="null"/> with <paramref name="isRecord"/> false at the end of the input;
    /// <see langword="null"/> with a <paramref name="problem"/> for an unreadable row.
    /// </summary>
    private List<string?>? NextFields(ByteLineReader lines, ref InputPosition position, out bool isRecord, out string? problem)
    {
        problem = null;
        isRecord = false;
        var record = new ArrayBufferWriter<byte>();
        var scan = new QuoteScanner(delimiter, settings.Quoted);
        while (lines.ReadLine(out var raw, out var tooLong))
        {
            var span = raw.Span;
            if (position.Bytes == 0 && span.StartsWith(TextFiles.Utf8Bom))
                span = span[TextFiles.Utf8Bom.Length..];
            position = position with { Lines = position.Lines + 1, Bytes = lines.Offset };
            if (tooLong || record.WrittenCount + span.Length > ByteLineReader.MaxLineBytes)
            {
                isRecord = true;
                problem = $"row longer than {ByteLineReader.MaxLineBytes >> 20} MiB";
                return null;
            }
            if (record.WrittenCount == 0 && ByteLineReader.IsBlank(span))
                continue;
            record.Write(span);
            if (scan.Feed(span))
            {
                isRecord = true;
                return SplitFields(ByteLineReader.TrimTerminator(record.WrittenSpan));
            }
        }
        if (record.WrittenCount == 0)
            return null;
        isRecord = true;
        if (scan.InQuotes)
        {
            problem = "a quoted field is not closed before the end of the input";
            return null;
        }
        return SplitFields(ByteLineReader.TrimTerminator(record.WrittenSpan));
    }

    private List<string?> SplitFields(ReadOnlySpan<byte> record)
    {
        var fields = new List<string?>();
        var field = new ArrayBufferWriter<byte>();
        var i = 0;
        while (true)
        {
            field.Clear();
            if (settings.Quoted && i < record.Length && record[i] == (byte)'"')
            {
                // Quoted: up to the closing quote ("" is a quote); anything after it up to the delimiter is kept as is.
                i++;
                while (i < record.Length)
                {
                    var quote = record[i..].IndexOf((byte)'"');
                    if (quote < 0)
                    {
                        field.Write(record[i..]);
                        i = record.Length;
                        break;
                    }
                    field.Write(record.Slice(i, quote));
                    i += quote + 1;
                    if (i < record.Length && record[i] == (byte)'"')
                    {
                        field.Write("\""u8);
                        i++;
                        continue;
                    }
                    break;
                }
            }
            var next = record[i..].IndexOf(delimiter);
            var rest = next < 0 ? record[i..] : record.Slice(i, next);
            field.Write(rest);
            fields.Add(TextChecks.DecodeUtf8(field.WrittenSpan));
            if (next < 0)
                return fields;
            i += next + 1;
        }
    }

    /// <summary>Tells, line by line, whether a row has ended: a line break outside quotes ends it.</summary>
    private struct QuoteScanner(byte delimiter, bool quoted)
    {
        private bool fieldStart = true;
        private bool quotePending; // a quote seen inside a quoted field: closing, or the first of ""

        public bool InQuotes { get; private set; }

        /// <summary>Feeds one line (with its terminator); true when the row ends with it.</summary>
        public bool Feed(ReadOnlySpan<byte> line)
        {
            if (!quoted)
                return true;
            foreach (var b in line)
            {
                if (InQuotes)
                {
                    if (quotePending)
                    {
                        quotePending = false;
                        if (b == (byte)'"')
                            continue; // an escaped quote
                        InQuotes = false; // the quote closed the field; b is outside it
                    }
                    else
                    {
                        if (b == (byte)'"')
                            quotePending = true;
                        continue;
                    }
                }
                if (b == (byte)'\n')
                    return true;
                if (fieldStart && b == (byte)'"')
                {
                    InQuotes = true;
                    fieldStart = false;
                }
                else
                {
                    fieldStart = b == delimiter;
                }
            }
            // Here the line either has no line break (the input's last line) or ended inside a quoted field. A quote
            // still pending can only be the input's last byte, and it closes the field.
            if (quotePending)
            {
                quotePending = false;
                InQuotes = false;
            }
            return !InQuotes;
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
