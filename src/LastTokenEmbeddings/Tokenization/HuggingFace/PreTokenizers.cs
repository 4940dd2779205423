using System.Text;

namespace LastTokenEmbeddings.Tokenization.HuggingFace;

/// <summary>
/// A piece of text on its way to the model. <see cref="AtTextStart"/> stands for the tokenizers library's test
/// "this split starts at offset 0 of the original text", which Metaspace's <c>prepend_scheme: first</c> uses: the
/// first piece of the text keeps it, every piece cut off behind something else loses it. (The library tests the
/// original offset, which differs only if a normalizer inserts text and a later split cuts inside it.)
/// </summary>
internal readonly record struct TextPiece(string Text, bool AtTextStart);

/// <summary>A <c>pre_tokenizer</c>: splits a piece into smaller ones (and may rewrite them).</summary>
internal interface IPreTokenizer
{
    /// <summary>Appends the non-empty pieces <paramref name="piece"/> becomes.</summary>
    void PreTokenize(TextPiece piece, List<TextPiece> output);
}

/// <summary>What a split does with the pattern matches (tokenizers' <c>SplitDelimiterBehavior</c>).</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>Cutting text at pattern matches, shared by <c>Split</c>, <c>ByteLevel</c>'s regex and <c>Metaspace</c>.</summary>
internal static class Splitter
{
    /// <summary>
    /// The tokenizers library's <c>NormalizedString::split</c>: covers the text with (span, is-match) pieces, applies
    /// the behavior, and appends the surviving non-empty pieces.
    /// </summary>
    public static void Split(TextPiece piece, List<(int Start, int End)> matches, bool invert, SplitBehavior behavior, List<TextPiece> output)
    {
        string text = piece.Text;
        // 1. Spans covering the whole text, flagged as match or not.
        var spans = new List<(int Start, int End, bool IsMatch)>(matches.Count * 2 + 1);
        int previous = 0;
        foreach (var (start, end) in matches)
        {
            if (previous != start)
                spans.Add((previous, start, invert));
            spans.Add((start, end, !invert));
            previous = end;
        }
        if (previous != text.Length)
            spans.Add((previous, text.Length, invert));

        // 2. The behavior decides which spans survive and which merge.
        var kept = new List<(int Start, int End, bool Remove)>(spans.Count);
        switch (behavior)
        {
            case SplitBehavior.Isolated:
                foreach (var (start, end, _) in spans) kept.Add((start, end, false));
                break;
            case SplitBehavior.Removed:
                foreach (var (start, end, isMatch) in spans) kept.Add((start, end, isMatch));
                break;
            case SplitBehavior.Contiguous:
            {
                bool previousMatch = false;
                foreach (var (start, end, isMatch) in spans)
                {
                    if (isMatch == previousMatch && kept.Count > 0)
                        kept[^1] = (kept[^1].Start, end, false);
                    else
                        kept.Add((start, end, false));
                    previousMatch = isMatch;
                }
                break;
            }
            case SplitBehavior.MergedWithPrevious:
            {
                bool previousMatch = false;
                foreach (var (start, end, isMatch) in spans)
                {
                    if (isMatch && !previousMatch && kept.Count > 0)
                        kept[^1] = (kept[^1].Start, end, false);
                    else
                        kept.Add((start, end, false));
                    previousMatch = isMatch;
                }
                break;
            }
            case SplitBehavior.MergedWithNext:
            {
                bool previousMatch = false;
                for (int i = spans.Count - 1; i >= 0; i--)
                {
                    var (start, end, isMatch) = spans[i];
                    if (isMatch && !previousMatch && kept.Count > 0)
                        kept[^1] = (start, kept[^1].End, false);
                    else
                        kept.Add((start, end, false));
                    previousMatch = isMatch;
                }
                kept.Reverse();
                break;
            }
        }

        foreach (var (start, end, remove) in kept)
        {
            if (!remove && end > start)
                output.Add(new TextPiece(text[start..end], piece.AtTextStart && start == 0));
        }
    }
}

/// <summary><c>Split</c>: a pattern, a behavior and <c>invert</c>.</summary>
internal sealed class SplitPreTokenizer(TextPattern pattern, SplitBehavior behavior, bool invert) : IPreTokenizer
{
    public void PreTokenize(TextPiece piece, List<TextPiece> output) =>
        Splitter.Split(piece, pattern.Matches(piece.Text), invert, behavior, output);
}

/// <summary>
/// <c>ByteLevel</c>: optionally a leading space on every piece that lacks one, optionally the GPT-2 regex, then
/// every UTF-8 byte mapped to its printable stand-in character (space → Ġ).
/// </summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, TextPattern? gpt2Regex) : IPreTokenizer
{
    public ByteLevelPreTokenizer WithAddPrefixSpace(bool value) => new(value, gpt2Regex);

    public void PreTokenize(TextPiece piece, List<TextPiece> output)
    {
        // The library prepends to every split it sees, not only the first one of the text.
        if (addPrefixSpace && !piece.Text.StartsWith(' '))
            piece = piece with { Text = " " + piece.Text };
        if (gpt2Regex is null)
        {
            output.Add(piece with { Text = ByteLevelAlphabet.Encode(piece.Text) });
            return;
        }
        var parts = new List<TextPiece>();
        Splitter.Split(piece, gpt2Regex.Matches(piece.Text), invert: false, SplitBehavior.Isolated, parts);
        foreach (var part in parts)
            output.Add(part with { Text = ByteLevelAlphabet.Encode(part.Text) });
    }
}

/// <summary>When <c>Metaspace</c> puts the replacement in front of a piece.</summary>
internal enum PrependScheme
{
    Always,
    First,
    Never,
}

/// <summary>
/// <c>Metaspace</c>: spaces become the replacement (normally ▁), which is prepended per <c>prepend_scheme</c>,
/// and with <c>split</c> the piece is cut in front of every replacement.
/// </summary>
internal sealed class MetaspacePreTokenizer(string replacement, PrependScheme scheme, bool split) : IPreTokenizer
{
    public PrependScheme Scheme => scheme;

    public MetaspacePreTokenizer WithScheme(PrependScheme value) => new(replacement, value, split);

    public void PreTokenize(TextPiece piece, List<TextPiece> output)
    {
        string text = piece.Text.Replace(" ", replacement, StringComparison.Ordinal);
        bool prepend = scheme switch
        {
            PrependScheme.Always => true,
            PrependScheme.First => piece.AtTextStart,
            _ => false,
        };
        if (prepend && !text.StartsWith(replacement, StringComparison.Ordinal))
            text = replacement + text;
        var rewritten = piece with { Text = text };
        if (!split)
        {
            output.Add(rewritten);
            return;
        }
        var matches = new List<(int Start, int End)>();
        for (int at = text.IndexOf(replacement, StringComparison.Ordinal); at >= 0;
             at = text.IndexOf(replacement, at + replacement.Length, StringComparison.Ordinal))
            matches.Add((at, at + replacement.Length));
        Splitter.Split(rewritten, matches, invert: false, SplitBehavior.MergedWithNext, output);
    }
}

/// <summary><c>Sequence</c> of pre-tokenizers: each one applies to every piece the previous ones produced.</summary>
internal sealed class SequencePreTokenizer(IReadOnlyList<IPreTokenizer> stages) : IPreTokenizer
{
    public IReadOnlyList<IPreTokenizer> Stages => stages;

    public void PreTokenize(TextPiece piece, List<TextPiece> output)
    {
        var current = new List<TextPiece> { piece };
        foreach (var stage in stages)
        {
            var next = new List<TextPiece>(current.Count * 2);
            foreach (var item in current)
                stage.PreTokenize(item, next);
            current = next;
        }
        output.AddRange(current);
    }
}

/// <summary>GPT-2's reversible mapping between bytes and printable characters.</summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = BuildCharToByte();

    private static char[] BuildByteToChar()
    {
        // Printable Latin-1 bytes stand for themselves; the others get 256, 257, ... in byte order.
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    private static Dictionary<char, byte> BuildCharToByte()
    {
        var map = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++)
            map[ByteToChar[b]] = (byte)b;
        return map;
    }

    public static string Encode(string text)
    {
        int count = Encoding.UTF8.GetByteCount(text);
        byte[] bytes = count <= 1024 ? new byte[count] : System.Buffers.ArrayPool<byte>.Shared.Rent(count);
        try
        {
            Encoding.UTF8.GetBytes(text, bytes);
            return string.Create(count, bytes, static (span, source) =>
            {
                for (int i = 0; i < span.Length; i++)
                    span[i] = ByteToChar[source[i]];
            });
        }
        finally
        {
            if (count > 1024) System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>The bytes a token stands for, or <see langword="null"/> when it has a character outside the alphabet.</summary>
    public static bool TryDecode(string token, List<byte> output)
    {
        int mark = output.Count;
        foreach (char c in token)
        {
            if (!CharToByte.TryGetValue(c, out var b))
            {
                output.RemoveRange(mark, output.Count - mark);
                return false;
            }
            output.Add(b);
        }
        return true;
    }
}
