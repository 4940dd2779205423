using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.DependencyInjection;

/// <summary>Everything needed to register a model with dependency injection.</summary>
public sealed class LastTokenEmbeddingsOptions
{
    /// <summary>Hugging Face model directory (config.json, tokenizer.model or tokenizer.json, safetensors) or hub id <c>ORG/NAME</c> (see <see cref="ModelLoadOptions.Hub"/>). Required.</summary>
    public string ModelDirectory { get; set; } = "";

    /// <summary>Dtype and device.</summary>
    public ModelLoadOptions Load { get; set; } = new();

    /// <summary>Prompt format, pooling, output shaping and batching.</summary>
    public EmbeddingOptions Embedding { get; set; } = new();

    /// <summary>Role the registered Microsoft.Extensions.AI generator embeds inputs as when a call names none (query by default; per call: <c>options.WithRole(...)</c>).</summary>
    public TextRole GeneratorRole { get; set; } = TextRole.Query;
}
