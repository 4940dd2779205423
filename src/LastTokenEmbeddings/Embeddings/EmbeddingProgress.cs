namespace LastTokenEmbeddings.Embeddings;

/// <summary>Progress of a multi-text embedding call, reported after each batch.</summary>
/// <param name="CompletedTexts">Texts embedded so far.</param>
/// <param name="TotalTexts">Texts in the call.</param>
/// <param name="CompletedTokens">Tokens processed so far (padding excluded).</param>
public readonly record struct EmbeddingProgress(int CompletedTexts, int TotalTexts, long CompletedTokens);
