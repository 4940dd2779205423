using System.Text;

namespace LastTokenEmbeddings.Tokenization.HuggingFace;

/// <summary>
/// NFC/NFD/NFKC/NFKD with .NET (ICU), made safe for hostile input: ICU sorts a run of combining marks by
/// insertion, quadratic in the run's length (100k alternating marks take seconds, a megabyte minutes), while the
/// Rust unicode-normalization crate sorts in O(n log n). Long runs are therefore put into canonical order first,
/// which by definition does not change the normalized result, and ICU then only has to confirm the order.
/// </summary>
internal static class UnicodeNormalization
{
    /// <summary>Runs of non-starters shorter than this go to ICU untouched (real text has runs of a few marks).</summary>
    private const int LongRun = 32;

    public static string Normalize(string text, NormalizationForm form)
    {
        if (text.Length == 0 || IsAscii(text))
            return text;
        var prepared = HasLongRunOfNonStarters(text) ? ReorderLongRuns(text) : text;
        try
        {
            return prepared.Normalize(form);
        }
        catch (ArgumentException)
        {
            // Only invalid UTF-16 makes ICU refuse, and lone surrogates were replaced before: keep the text.
            return prepared;
        }
    }

    private static bool IsAscii(string text) => !text.AsSpan().ContainsAnyExceptInRange('\0', '\u007F');

    private static bool HasLongRunOfNonStarters(string text)
    {
        int run = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (CombiningClassOrDecomposedLead(rune.Value) != 0)
            {
                if (++run >= LongRun) return true;
            }
            else
            {
                run = 0;
            }
        }
        return false;
    }

    /// <summary>
    /// The seven characters whose canonical decomposition starts with a non-starter although they are starters
    /// themselves or decompose into several marks; they are decomposed before sorting so the sort sees what ICU
    /// will see.
    /// </summary>
    private static string? NonStarterDecomposition(int codePoint) => codePoint switch
    {
        0x0340 => "\u0300",
        0x0341 => "\u0301",
        0x0343 => "\u0313",
        0x0344 => "\u0308\u0301",
        0x0F73 => "\u0F71\u0F72",
        0x0F75 => "\u0F71\u0F74",
        0x0F81 => "\u0F71\u0F80",
        _ => null,
    };

    private static int CombiningClassOrDecomposedLead(int codePoint) =>
        NonStarterDecomposition(codePoint) is { } decomposed ? UnicodeCombiningClasses.Of(decomposed[0]) : UnicodeCombiningClasses.Of(codePoint);

    /// <summary>Stable-sorts every run of non-starters by combining class (the canonical ordering algorithm).</summary>
    private static string ReorderLongRuns(string text)
    {
        var output = new StringBuilder(text.Length + 16);
        var run = new List<(int Class, int Order, Rune Rune)>();
        void Flush()
        {
            if (run.Count > 1)
                run.Sort(static (a, b) => a.Class != b.Class ? a.Class.CompareTo(b.Class) : a.Order.CompareTo(b.Order));
            foreach (var item in run)
                output.Append(item.Rune.ToString());
            run.Clear();
        }
        foreach (var rune in text.EnumerateRunes())
        {
            var decomposed = NonStarterDecomposition(rune.Value);
            if (decomposed is null)
            {
                Add(rune);
                continue;
            }
            foreach (var part in decomposed.EnumerateRunes())
                Add(part);
        }
        Flush();
        return output.ToString();

        void Add(Rune rune)
        {
            int combiningClass = UnicodeCombiningClasses.Of(rune.Value);
            if (combiningClass == 0)
            {
                Flush();
                output.Append(rune.ToString());
            }
            else
            {
                run.Add((combiningClass, run.Count, rune));
            }
        }
    }
}
