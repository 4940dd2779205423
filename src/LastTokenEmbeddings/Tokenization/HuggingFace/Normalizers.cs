using System.Text;

namespace LastTokenEmbeddings.Tokenization.HuggingFace;

/// <summary>A <c>normalizer</c> of tokenizer.json: maps a piece of text to its normalized form.</summary>
internal interface ITextNormalizer
{
    string Normalize(string text);
}

/// <summary>NFC, NFD, NFKC or NFKD.</summary>
internal sealed class UnicodeFormNormalizer(NormalizationForm form) : ITextNormalizer
{
    public string Normalize(string text) => UnicodeNormalization.Normalize(text, form);
}

/// <summary><c>Prepend</c>: puts a prefix in front of every non-empty piece (the legacy Llama "▁").</summary>
internal sealed class PrependNormalizer(string prefix) : ITextNormalizer
{
    public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
}

/// <summary><c>Replace</c>: every match of the pattern becomes the content.</summary>
internal sealed class ReplaceNormalizer(TextPattern pattern, string content) : ITextNormalizer
{
    public string Normalize(string text) => ReplaceAll(pattern, content, text);

    public static string ReplaceAll(TextPattern pattern, string content, string text)
    {
        var matches = pattern.Matches(text);
        if (matches.Count == 0)
            return text;
        var output = new StringBuilder(text.Length + matches.Count * content.Length);
        int last = 0;
        foreach (var (start, end) in matches)
        {
            output.Append(text, last, start - last).Append(content);
            last = end;
        }
        return output.Append(text, last, text.Length - last).ToString();
    }
}

/// <summary><c>Strip</c>: removes leading and/or trailing white space (Unicode White_Space, as Rust's <c>char::is_whitespace</c>).</summary>
internal sealed class StripNormalizer(bool left, bool right) : ITextNormalizer
{
    public string Normalize(string text)
    {
        int start = 0, end = text.Length;
        if (left)
            while (start < end && char.IsWhiteSpace(text[start])) start++;
        if (right)
            while (end > start && char.IsWhiteSpace(text[end - 1])) end--;
        return text[start..end];
    }
}

/// <summary>
/// <c>Lowercase</c>: Rust's <c>char::to_lowercase</c> per character, i.e. the simple lowercase mapping except
/// U+0130, whose full mapping is two characters (no context-dependent final sigma).
/// </summary>
internal sealed class LowercaseNormalizer : ITextNormalizer
{
    public string Normalize(string text)
    {
        var output = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value == 0x0130) output.Append("i\u0307");
            else output.Append(Rune.ToLowerInvariant(rune).ToString());
        }
        return output.ToString();
    }
}

/// <summary><c>Sequence</c> of normalizers, applied in order.</summary>
internal sealed class SequenceNormalizer(IReadOnlyList<ITextNormalizer> normalizers) : ITextNormalizer
{
    public string Normalize(string text)
    {
        foreach (var normalizer in normalizers)
            text = normalizer.Normalize(text);
        return text;
    }
}
