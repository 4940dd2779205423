namespace LastTokenEmbeddings.Tokenization;

/// <summary>
/// Splits a text around the special tokens written in it (<c>&lt;/s&gt;</c>, <c>&lt;|im_end|&gt;</c>): at each position
/// the longest token starting there wins, scanning left to right, as the tokenizers library's added-vocabulary
/// matcher does for tokens without lstrip/rstrip/single-word rules.
/// </summary>
internal sealed class SpecialTokenSplitter
{
    private readonly Dictionary<char, (string Token, int Id)[]> byFirstChar;

    public SpecialTokenSplitter(IReadOnlyDictionary<string, int> tokens)
    {
        byFirstChar = tokens.Where(pair => pair.Key.Length > 0)
            .GroupBy(pair => pair.Key[0])
            .ToDictionary(group => group.Key, group => group.OrderByDescending(pair => pair.Key.Length).Select(pair => (pair.Key, pair.Value)).ToArray());
    }

    /// <summary>The pieces of <paramref name="text"/> in order: plain text (id <see langword="null"/>) or a special token's id.</summary>
    public IEnumerable<(string Text, int? SpecialId)> Split(string text)
    {
        if (byFirstChar.Count == 0)
        {
            yield return (text, null);
            yield break;
        }
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (!byFirstChar.TryGetValue(text[i], out var candidates))
                continue;
            foreach (var (token, id) in candidates)
            {
                if (string.CompareOrdinal(text, i, token, 0, token.Length) != 0)
                    continue;
                if (i > start)
                    yield return (text[start..i], null);
                yield return (token, id);
                start = i + token.Length;
                i = start - 1;
                break;
            }
        }
        if (start < text.Length)
            yield return (text[start..], null);
    }
}
