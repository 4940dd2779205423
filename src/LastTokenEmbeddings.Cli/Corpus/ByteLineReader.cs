namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>
/// Reads a stream line by line as raw bytes, knowing the byte offset of every line, so a reader can report exact
/// positions to resume from and validate UTF-8 itself. A line longer than <see cref="MaxLineBytes"/> is skipped and
/// reported rather than buffered whole.
/// </summary>
internal sealed class ByteLineReader : IDisposable
{
    /// <summary>The longest line kept (longer ones are reported as too long): 64 MiB.</summary>
    public const int MaxLineBytes = 64 << 20;

    private readonly Stream stream;
    private readonly int maxLineBytes;
    private byte[] buffer = new byte[1 << 20];
    private int start;
    private int end;
    private long bufferOffset; // stream offset of buffer[0]
    private bool endOfStream;

    /// <summary>Reads <paramref name="stream"/> from its current position, which is byte <paramref name="offset"/> of the file.</summary>
    public ByteLineReader(Stream stream, long offset, int maxLineBytes = MaxLineBytes)
    {
        this.stream = stream;
        this.maxLineBytes = maxLineBytes;
        bufferOffset = offset;
    }

    /// <summary>Byte offset of the next unread byte.</summary>
    public long Offset => bufferOffset + start;

    /// <summary>
    /// The next line, with its terminator (<c>\n</c>; a final line may lack it). The memory is valid until the next call.
    /// </summary>
    /// <param name="line">The line's bytes; empty when <paramref name="tooLong"/>.</param>
    /// <param name="tooLong">The line exceeded the limit and was skipped.</param>
    /// <returns><see langword="false"/> at the end of the stream.</returns>
    public bool ReadLine(out ReadOnlyMemory<byte> line, out bool tooLong)
    {
        tooLong = false;
        var scanned = 0; // bytes after start known to hold no line break
        while (true)
        {
            var at = buffer.AsSpan(start + scanned, end - start - scanned).IndexOf((byte)'\n');
            if (at >= 0)
            {
                var length = scanned + at + 1;
                line = tooLong ? ReadOnlyMemory<byte>.Empty : buffer.AsMemory(start, length);
                start += length;
                return true;
            }
            scanned = end - start;
            if (endOfStream)
            {
                if (scanned == 0 && !tooLong)
                {
                    line = default;
                    return false;
                }
                line = tooLong ? ReadOnlyMemory<byte>.Empty : buffer.AsMemory(start, scanned);
                start = end;
                return true;
            }
            if (scanned > maxLineBytes)
            {
                // Drop what is buffered of this line and keep looking for its end.
                tooLong = true;
                bufferOffset += end;
                start = end = 0;
                scanned = 0;
            }
            Fill();
        }
    }

    private void Fill()
    {
        if (start > 0)
        {
            Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
            bufferOffset += start;
            end -= start;
            start = 0;
        }
        if (end == buffer.Length)
            Array.Resize(ref buffer, buffer.Length * 2);
        var read = stream.Read(buffer, end, buffer.Length - end);
        if (read == 0)
            endOfStream = true;
        end += read;
    }

    /// <summary>The line without its <c>\n</c> or <c>\r\n</c>.</summary>
    public static ReadOnlySpan<byte> TrimTerminator(ReadOnlySpan<byte> line)
    {
        if (line.EndsWith((byte)'\n'))
            line = line[..^1];
        if (line.EndsWith((byte)'\r'))
            line = line[..^1];
        return line;
    }

    /// <summary>Whether the line holds only spaces, tabs and line-break bytes.</summary>
    public static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept(" \t\r\n"u8) < 0;

    public void Dispose() => stream.Dispose();
}
