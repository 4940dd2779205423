namespace LastTokenEmbeddings.Embeddings;

/// <summary>
/// How <see cref="EmbeddingStreams"/> windows a stream: records are read into windows of <see cref="WindowSize"/>,
/// each window is one embedding call, and at most <see cref="MaxWindowsInFlight"/> windows are read and not yet
/// yielded at any time. Memory is therefore bounded by <c>WindowSize × MaxWindowsInFlight</c> records, whatever the
/// length of the stream.
/// </summary>
public sealed record EmbeddingStreamOptions
{
    /// <summary>
    /// Records per embedding call. The model plans its forward passes over up to 1,024 queued texts at a time, sorting
    /// them by length, so windows of that size batch best (smaller ones leave more small, padded passes). Default 1024.
    /// </summary>
    public int WindowSize { get; init; } = 1024;

    /// <summary>
    /// Windows read and not yet fully yielded. With 2 or more, the next window is tokenised and queued while one runs
    /// (the model's forward thread never waits for the reader). Default 2.
    /// </summary>
    public int MaxWindowsInFlight { get; init; } = 2;

    /// <summary>
    /// Yield results in input order (default). When <see langword="false"/>, each window's results are yielded as soon
    /// as that window completes, which may be before an earlier window; every result still carries its record.
    /// </summary>
    public bool PreserveOrder { get; init; } = true;

    /// <summary>The most records read from the source and not yet yielded: <c>WindowSize × MaxWindowsInFlight</c>.</summary>
    public int MaxRecordsInFlight => checked(WindowSize * MaxWindowsInFlight);

    /// <summary>Defaults: windows of 1,024, 2 in flight, input order.</summary>
    public static EmbeddingStreamOptions Default { get; } = new();

    internal void Validate()
    {
        if (WindowSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(WindowSize), WindowSize, "WindowSize must be positive.");
        if (MaxWindowsInFlight <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxWindowsInFlight), MaxWindowsInFlight, "MaxWindowsInFlight must be positive.");
        _ = MaxRecordsInFlight;
    }
}
