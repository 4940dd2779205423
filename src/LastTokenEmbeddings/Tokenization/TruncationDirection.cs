namespace LastTokenEmbeddings.Tokenization;

/// <summary>Which end of an over-long text truncation cuts (as TEI's <c>truncation_direction</c>).</summary>
public enum TruncationDirection
{
    /// <summary>Keep the start of the text, cut its end (the default).</summary>
    Right = 0,

    /// <summary>Keep the end of the text, cut its start.</summary>
    Left = 1,
}
