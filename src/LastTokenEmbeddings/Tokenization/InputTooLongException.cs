using System.Globalization;

namespace LastTokenEmbeddings.Tokenization;

/// <summary>
/// A prompt has more tokens than the allowed maximum and <see cref="TruncationPolicy.Throw"/> was requested.
/// </summary>
public sealed class InputTooLongException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="tokenCount">Number of tokens the complete prompt has (BOS/EOS and format tokens included).</param>
    /// <param name="maxTokens">The limit that was exceeded.</param>
    /// <param name="paramName">The parameter holding the offending text.</param>
    public InputTooLongException(int tokenCount, int maxTokens, string? paramName = null)
        : base(
            string.Create(
                CultureInfo.InvariantCulture,
                $"The input is {tokenCount} tokens long (including special and prompt-format tokens), which exceeds the limit of {maxTokens} tokens."),
            paramName)
    {
        TokenCount = tokenCount;
        MaxTokens = maxTokens;
    }

    /// <summary>Number of tokens the complete prompt has (BOS/EOS and format tokens included).</summary>
    public int TokenCount { get; }

    /// <summary>The limit that was exceeded.</summary>
    public int MaxTokens { get; }
}
