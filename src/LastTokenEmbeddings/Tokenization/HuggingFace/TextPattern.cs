using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using LastTokenEmbeddings.Checkpoints;

namespace LastTokenEmbeddings.Tokenization.HuggingFace;

/// <summary>
/// The <c>pattern</c> of a <c>Split</c> pre-tokenizer or a <c>Replace</c> normalizer/decoder: either a literal
/// (<c>{"String": ...}</c>) or an Oniguruma regular expression (<c>{"Regex": ...}</c>), which the tokenizers library
/// runs with the onig crate. .NET's engine is made to agree with Oniguruma on what the patterns in published
/// tokenizers use:
/// <list type="bullet">
/// <item>characters outside the BMP: .NET classes such as <c>\p{L}</c> look at single UTF-16 code units, so a
/// surrogate pair never counts as a letter. Texts with surrogate pairs are matched on a copy where each pair is
/// replaced by one BMP character of the same Unicode category (see <see cref="StandIns"/>);</item>
/// <item><c>^</c> and <c>$</c> are line anchors in Oniguruma's default syntax (<see cref="RegexOptions.Multiline"/>);</item>
/// <item>an empty match right after the previous match is skipped, as onig's iterator does.</item>
/// </list>
/// Constructs whose meaning differs silently are refused: POSIX brackets, <c>\w</c>/<c>\W</c>/<c>\b</c>/<c>\B</c>
/// (Oniguruma's word characters differ from .NET's), case-insensitive matching other than the contraction group
/// <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)</c> (Oniguruma folds ſ and ß in some constructs), other inline options, and
/// characters outside the BMP inside the pattern. The test suite compares all of this with the library itself. Patterns run on the linear-time
/// <see cref="RegexOptions.NonBacktracking"/> engine where .NET supports them (no lookarounds or backreferences);
/// the others, such as the GPT-2 and Qwen patterns with <c>\s+(?!\S)</c>, run on the backtracking engine with a
/// per-match timeout, which <see cref="Matches"/> turns into a <see cref="CheckpointException"/> naming the file.
/// </summary>
internal sealed class TextPattern
{
    /// <summary>Longest time one match may take before the text is refused, unless a load asks for another limit.</summary>
    public static readonly TimeSpan DefaultMatchTimeout = TimeSpan.FromSeconds(5);

    // Set by HuggingFaceTokenizer.Load for the patterns of the file it is reading (loading is synchronous).
    [ThreadStatic]
    private static TimeSpan? t_loadTimeout;

    private static TimeSpan MatchTimeout => t_loadTimeout ?? DefaultMatchTimeout;

    /// <summary>Makes patterns compiled on this thread until disposal use <paramref name="timeout"/>.</summary>
    public static IDisposable UseMatchTimeout(TimeSpan? timeout)
    {
        var previous = t_loadTimeout;
        t_loadTimeout = timeout;
        return new Restore(previous);
    }

    private sealed class Restore(TimeSpan? previous) : IDisposable
    {
        public void Dispose() => t_loadTimeout = previous;
    }

    private readonly TimeSpan _timeout;

    private readonly string? _literal;
    private readonly Regex? _regex;
    private readonly string _filePath;
    private readonly string _fieldPath;

    private TextPattern(string? literal, Regex? regex, string filePath, string fieldPath)
    {
        _timeout = regex?.MatchTimeout ?? DefaultMatchTimeout;
        _literal = literal;
        _regex = regex;
        _filePath = filePath;
        _fieldPath = fieldPath;
    }

    /// <summary>The GPT-2 pre-tokenization regex that <c>ByteLevel</c> applies when <c>use_regex</c> is true.</summary>
    public const string Gpt2Regex = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Reads <c>{"String": ...}</c> or <c>{"Regex": ...}</c>; empty patterns are refused.</summary>
    public static TextPattern Read(JsonField field)
    {
        field.ExpectObject();
        var literal = field.Optional("String");
        var regex = field.Optional("Regex");
        if (literal.HasValue == regex.HasValue)
            throw field.Error("must hold exactly one of 'String' and 'Regex'.");
        if (literal is { } literalField)
        {
            var text = literalField.GetString();
            if (text.Length == 0)
                throw literalField.Error("an empty pattern is not supported.");
            return new TextPattern(text, null, field.FilePath, literalField.Path);
        }
        var regexField = regex!.Value;
        return FromRegex(regexField.GetString(), field.FilePath, regexField.Path);
    }

    /// <summary>Compiles an Oniguruma pattern; <see cref="CheckpointException"/> when .NET cannot run it faithfully.</summary>
    public static TextPattern FromRegex(string pattern, string filePath, string fieldPath)
    {
        CheckPortable(pattern, filePath, fieldPath);
        const RegexOptions options = RegexOptions.Multiline | RegexOptions.CultureInvariant;
        Regex regex;
        try
        {
            regex = new Regex(pattern, options | RegexOptions.NonBacktracking, MatchTimeout);
        }
        catch (NotSupportedException)
        {
            // Lookarounds and backreferences: backtracking engine, bounded by the match timeout.
            regex = Compile(pattern, options, filePath, fieldPath);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(filePath, $"{fieldPath}: the regular expression is not supported: {e.Message}", innerException: e);
        }
        if (regex.IsMatch(""))
            throw new CheckpointException(filePath, $"{fieldPath}: a pattern that matches the empty string is not supported.");
        return new TextPattern(null, regex, filePath, fieldPath);
    }

    private static Regex Compile(string pattern, RegexOptions options, string filePath, string fieldPath)
    {
        try
        {
            return new Regex(pattern, options, MatchTimeout);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(filePath, $"{fieldPath}: the regular expression is not supported: {e.Message}", innerException: e);
        }
    }

    /// <summary>
    /// The one case-insensitive construct published tokenizers use (GPT-4, Llama 3, Qwen): English contractions,
    /// which Oniguruma and .NET match alike (checked against the library, ſ included).
    /// </summary>
    private static readonly Regex ContractionGroup = new(@"\(\?i:'(?:s|t|re|ve|m|ll|d)(?:\|'(?:s|t|re|ve|m|ll|d))*\)", RegexOptions.None, DefaultMatchTimeout);

    private static void CheckPortable(string pattern, string filePath, string fieldPath)
    {
        string? problem = null;
        if (Regex.IsMatch(pattern, @"\[:\^?[a-zA-Z]+:\]", RegexOptions.None, DefaultMatchTimeout))
            problem = "POSIX bracket expressions ([:alpha:]) mean something else to .NET";
        else if (pattern.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0 || pattern.Contains(@"\x{", StringComparison.Ordinal)
                 || Regex.IsMatch(pattern, @"\\u[dD][89a-fA-F]", RegexOptions.None, DefaultMatchTimeout))
            problem = "characters outside the Basic Multilingual Plane cannot be matched like Oniguruma does";
        else if (HasEscape(pattern, "wWbB"))
            problem = @"Oniguruma's \w (and so \b) covers other characters than .NET's (for instance ½ and Ⅻ but not ①)";
        else if (ContractionGroup.Replace(pattern, "").Contains("(?i", StringComparison.Ordinal) || HasInlineOptionsOtherThanIgnoreCase(pattern))
            problem = "case-insensitive matching (other than the usual (?i:'s|'t|'re|'ve|'m|'ll|'d)) and inline options fold characters such as ſ and ß differently in Oniguruma and .NET";
        if (problem is not null)
            throw new CheckpointException(filePath, $"{fieldPath}: the regular expression is not supported: {problem}.");
    }

    /// <summary>Whether the pattern uses one of the escapes <c>\x</c> for x in <paramref name="letters"/>.</summary>
    private static bool HasEscape(string pattern, string letters)
    {
        for (int i = 0; i + 1 < pattern.Length; i++)
        {
            if (pattern[i] != '\\') continue;
            if (letters.Contains(pattern[i + 1], StringComparison.Ordinal)) return true;
            i++; // skip the escaped character (so \\w is a backslash and a w)
        }
        return false;
    }

    /// <summary>Finds <c>(?m)</c>, <c>(?x:...)</c> and the like outside character classes.</summary>
    private static bool HasInlineOptionsOtherThanIgnoreCase(string pattern)
    {
        bool inClass = false;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\')
            {
                i++;
                continue;
            }
            if (c == '[') inClass = true;
            else if (c == ']') inClass = false;
            else if (!inClass && c == '(' && i + 1 < pattern.Length && pattern[i + 1] == '?')
            {
                int j = i + 2;
                bool otherOption = false;
                while (j < pattern.Length && (char.IsAsciiLetter(pattern[j]) || pattern[j] == '-'))
                {
                    otherOption |= pattern[j] is not ('i' or '-');
                    j++;
                }
                if (j > i + 2 && j < pattern.Length && pattern[j] is ':' or ')' && otherOption)
                    return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Non-overlapping matches, leftmost first, as (start, end) UTF-16 offsets into <paramref name="text"/>.
    /// </summary>
    public List<(int Start, int End)> Matches(string text)
    {
        var matches = new List<(int Start, int End)>();
        if (text.Length == 0)
            return matches;
        if (_literal is not null)
        {
            for (int at = text.IndexOf(_literal, StringComparison.Ordinal); at >= 0;
                 at = at + _literal.Length >= text.Length ? -1 : text.IndexOf(_literal, at + _literal.Length, StringComparison.Ordinal))
                matches.Add((at, at + _literal.Length));
            return matches;
        }

        var (subject, toOriginal) = StandIns.Fold(text);
        try
        {
            int lastEnd = -1;
            for (var match = _regex!.Match(subject); match.Success; match = match.NextMatch())
            {
                if (match.Length == 0 && match.Index == lastEnd)
                    continue; // onig never yields an empty match where the previous match ended
                int start = toOriginal is null ? match.Index : toOriginal[match.Index];
                int end = toOriginal is null ? match.Index + match.Length : toOriginal[match.Index + match.Length];
                matches.Add((start, end));
                lastEnd = match.Index + match.Length;
            }
        }
        catch (RegexMatchTimeoutException e)
        {
            throw new CheckpointException(_filePath, string.Create(CultureInfo.InvariantCulture,
                $"{_fieldPath}: matching this pattern took more than {_timeout.TotalSeconds} s on a text of {text.Length} characters; the pattern is too slow for this input."), innerException: e);
        }
        return matches;
    }

    /// <summary>
    /// One BMP character per Unicode category, standing in for characters outside the BMP while a .NET regex
    /// runs, so that <c>\p{L}</c>, <c>\p{N}</c>, <c>\s</c> and negated classes see the category Oniguruma sees. The
    /// stand-ins come from scripts that tokenizer patterns do not name.
    /// </summary>
    internal static class StandIns
    {
        private static readonly char[] ByCategory = BuildTable();

        private static char[] BuildTable()
        {
            var table = new char[30];
            Array.Fill(table, '\u0378'); // unassigned (Cn)
            table[(int)UnicodeCategory.UppercaseLetter] = '\u2C00';
            table[(int)UnicodeCategory.LowercaseLetter] = '\u2C30';
            table[(int)UnicodeCategory.TitlecaseLetter] = '\u1F88';
            table[(int)UnicodeCategory.ModifierLetter] = '\uA67F';
            table[(int)UnicodeCategory.OtherLetter] = '\uA840';
            table[(int)UnicodeCategory.NonSpacingMark] = '\uA8C4';
            table[(int)UnicodeCategory.SpacingCombiningMark] = '\uA8B4';
            table[(int)UnicodeCategory.EnclosingMark] = '\u20DD';
            table[(int)UnicodeCategory.DecimalDigitNumber] = '\uA8D0';
            table[(int)UnicodeCategory.LetterNumber] = '\uA6E6';
            table[(int)UnicodeCategory.OtherNumber] = '\uA830';
            table[(int)UnicodeCategory.Format] = '\uFFF9';
            table[(int)UnicodeCategory.PrivateUse] = '\uE000';
            table[(int)UnicodeCategory.ConnectorPunctuation] = '\u2040';
            table[(int)UnicodeCategory.DashPunctuation] = '\u2E1A';
            table[(int)UnicodeCategory.OpenPunctuation] = '\u2E22';
            table[(int)UnicodeCategory.ClosePunctuation] = '\u2E23';
            table[(int)UnicodeCategory.InitialQuotePunctuation] = '\u2E1C';
            table[(int)UnicodeCategory.FinalQuotePunctuation] = '\u2E1D';
            table[(int)UnicodeCategory.OtherPunctuation] = '\uA8CE';
            table[(int)UnicodeCategory.MathSymbol] = '\u2AFF';
            table[(int)UnicodeCategory.CurrencySymbol] = '\u20BF';
            table[(int)UnicodeCategory.ModifierSymbol] = '\uA700';
            table[(int)UnicodeCategory.OtherSymbol] = '\u4DC0';
            return table;
        }

        /// <summary>The stand-in for a category (exposed for tests).</summary>
        public static char For(UnicodeCategory category) => ByCategory[(int)category];

        /// <summary>
        /// The text with every surrogate pair replaced by its stand-in, and the map from offsets in the folded
        /// text back to offsets in <paramref name="text"/> (one entry per folded offset, plus the end);
        /// <see langword="null"/> map when the text has no surrogate pair and is returned unchanged.
        /// </summary>
        public static (string Subject, int[]? ToOriginal) Fold(string text)
        {
            int firstSurrogate = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
            if (firstSurrogate < 0)
                return (text, null);
            var folded = new StringBuilder(text.Length);
            var map = new List<int>(text.Length + 1);
            for (int i = 0; i < text.Length; i++)
            {
                map.Add(i);
                if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    folded.Append(ByCategory[(int)CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]))]);
                    i++;
                }
                else
                {
                    folded.Append(text[i]);
                }
            }
            map.Add(text.Length);
            return (folded.ToString(), map.ToArray());
        }
    }
}
