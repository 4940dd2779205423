namespace LastTokenEmbeddings.Tokenization;

/// <summary>Makes arbitrary .NET strings valid UTF-16 before they are tokenized.</summary>
internal static class TextSanitizer
{
    /// <summary>Replaces every unpaired surrogate with U+FFFD; returns the same instance when there is none.</summary>
    public static string ReplaceLoneSurrogates(string text)
    {
        int first = FirstLoneSurrogate(text, 0);
        if (first < 0)
        {
            return text;
        }

        return string.Create(text.Length, (text, first), static (span, state) =>
        {
            state.text.AsSpan().CopyTo(span);
            int i = state.first;
            while (i >= 0)
            {
                span[i] = '\uFFFD';
                i = FirstLoneSurrogate(state.text, i + 1);
            }
        });
    }

    private static int FirstLoneSurrogate(string text, int start)
    {
        for (int i = start; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c))
            {
                continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            return i;
        }

        return -1;
    }
}
