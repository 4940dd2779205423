namespace LastTokenEmbeddings.Embeddings;

/// <summary>The embedding of one text.</summary>
/// <param name="Vector">The pooled vector (L2-normalised unless normalisation was turned off).</param>
/// <param name="TokenCount">Tokens the decoder saw, prompt format included.</param>
/// <param name="Truncated">Whether the text was cut to fit the token limit.</param>
public sealed record TextEmbedding(float[] Vector, int TokenCount, bool Truncated);
