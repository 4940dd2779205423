namespace LastTokenEmbeddings.Embeddings;

/// <summary>One text of a corpus to embed, with the identifier its embedding will carry.</summary>
/// <param name="Id">The caller's identifier of the record (returned unchanged with its embedding).</param>
/// <param name="Text">The text; empty is allowed (only the prompt format's fixed tokens are embedded).</param>
public sealed record CorpusRecord(string Id, string Text);

/// <summary>The embedding of one <see cref="CorpusRecord"/>.</summary>
/// <param name="Id">The record's identifier.</param>
/// <param name="Vector">The pooled vector (L2-normalised unless the model's normalisation is off).</param>
/// <param name="TokenCount">Tokens the decoder saw, prompt format included.</param>
/// <param name="Truncated">Whether the text was cut to fit the model's token limit.</param>
public sealed record CorpusEmbedding(string Id, float[] Vector, int TokenCount, bool Truncated);

/// <summary>A record of a stream with its embedding.</summary>
/// <typeparam name="TRecord">The caller's record type.</typeparam>
/// <param name="Record">The record, as the source produced it.</param>
/// <param name="Embedding">
/// Its embedding; <see langword="null"/> when the text selector returned <see langword="null"/> for it (the record
/// was passed through in its place without being embedded).
/// </param>
public sealed record EmbeddedRecord<TRecord>(TRecord Record, TextEmbedding? Embedding);
