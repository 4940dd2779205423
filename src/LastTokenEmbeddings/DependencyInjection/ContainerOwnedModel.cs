using LastTokenEmbeddings.Embeddings;

namespace LastTokenEmbeddings.DependencyInjection;

/// <summary>
/// The model a registration loaded, owned by the container: the container disposes this singleton at shutdown, which
/// frees the weights. Consumers resolve <see cref="SharedView"/> instead, whose <c>Dispose</c> does nothing, so no
/// consumer can end the model's life for the others.
/// </summary>
internal sealed class ContainerOwnedModel : IDisposable
{
    private readonly EmbeddingModel owned;

    public ContainerOwnedModel(EmbeddingModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        owned = model;
        try
        {
            SharedView = model.CreateNonOwningView();
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>What <see cref="IEmbeddingModel"/> resolves to: the same settings, without ownership.</summary>
    public EmbeddingModel SharedView { get; }

    public void Dispose() => owned.Dispose();
}
