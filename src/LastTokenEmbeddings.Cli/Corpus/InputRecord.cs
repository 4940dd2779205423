namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>Where reading stands in an input file: enough to continue from there.</summary>
/// <param name="Records">Records read so far: the 0-based row number of the next record.</param>
/// <param name="Lines">Lines read so far (text formats; the next record starts on line <c>Lines + 1</c>). 0 for Parquet.</param>
/// <param name="Bytes">Byte offset of the next record (text formats). 0 for Parquet.</param>
internal readonly record struct InputPosition(long Records, long Lines, long Bytes)
{
    public static InputPosition Start => default;
}

/// <summary>One record of the input, good or bad.</summary>
/// <param name="Row">0-based record number (JSONL: non-blank lines; CSV/TSV: data rows; Parquet: rows).</param>
/// <param name="Line">1-based line the record starts on (text formats), or <see langword="null"/> (Parquet).</param>
/// <param name="End">The position just after this record.</param>
/// <param name="Id">The record's id, when it has a usable one.</param>
/// <param name="Text">The text, when the record is good.</param>
/// <param name="Fields">The kept extra fields as one JSON object, or <see langword="null"/> when none are kept.</param>
/// <param name="Problem">Why the record cannot be embedded, or <see langword="null"/> for a good record.</param>
internal sealed record InputRecord(long Row, long? Line, InputPosition End, string? Id, string? Text, string? Fields, string? Problem)
{
    /// <summary>"line 12" for text formats, "row 12" (0-based) for Parquet.</summary>
    public string Location => Line is { } line
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"line {line}")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"row {Row}");
}

/// <summary>Which extra fields of a record are kept in the output.</summary>
internal sealed record FieldSelection(bool All, IReadOnlySet<string> Names)
{
    public static FieldSelection None { get; } = new(false, new HashSet<string>());

    public bool Any => All || Names.Count > 0;

    public bool Keeps(string name) => All || Names.Contains(name);

    /// <summary>Canonical text for fingerprints and messages: none, all, or the sorted names.</summary>
    public override string ToString() => All ? "all" : Names.Count == 0 ? "none" : string.Join(',', Names.Order(StringComparer.Ordinal));

    /// <summary><c>none</c>, <c>all</c>, or comma-separated field names.</summary>
    public static FieldSelection Parse(string value)
    {
        var trimmed = value.Trim();
        if (trimmed.Equals("none", StringComparison.OrdinalIgnoreCase) || trimmed.Length == 0)
            return None;
        if (trimmed.Equals("all", StringComparison.OrdinalIgnoreCase))
            return new FieldSelection(true, new HashSet<string>());
        return new FieldSelection(false, trimmed.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal));
    }
}

/// <summary>What an input reader needs to know besides the file.</summary>
/// <param name="Path">The input file (absolute).</param>
/// <param name="Format"><c>jsonl</c>, <c>csv</c>, <c>tsv</c> or <c>parquet</c>.</param>
/// <param name="IdField">Name of the id field or column (a 1-based column number for CSV/TSV without header).</param>
/// <param name="TextField">Name of the text field or column.</param>
/// <param name="Keep">Extra fields to keep.</param>
/// <param name="Header">CSV/TSV: whether the first row names the columns.</param>
/// <param name="Quoted">CSV/TSV: whether RFC 4180 quoting applies.</param>
internal sealed record CorpusInputSettings(string Path, string Format, string IdField, string TextField, FieldSelection Keep, bool Header, bool Quoted);

/// <summary>Reads the records of one input file from a given position.</summary>
internal interface ICorpusReader : IAsyncDisposable
{
    /// <summary>Units of work in the whole file (bytes for text formats, rows for Parquet), for progress and ETA.</summary>
    long TotalUnits { get; }

    /// <summary>How far <paramref name="position"/> is, in <see cref="TotalUnits"/>' unit.</summary>
    long UnitsAt(InputPosition position);

    /// <summary>The records from <paramref name="start"/> (a position this reader produced, or the start) to the end.</summary>
    IAsyncEnumerable<InputRecord> ReadAsync(InputPosition start, CancellationToken cancellationToken);
}
