using LastTokenEmbeddings.AI;
using LastTokenEmbeddings.DependencyInjection;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers decoder embedding models with dependency injection: the model (<see cref="IEmbeddingModel"/>) and a
/// Microsoft.Extensions.AI <see cref="IEmbeddingGenerator{String, Embedding}"/> pipeline over it.
/// </summary>
/// <remarks>
/// <para>
/// Ownership: the container loads the model on first resolution and disposes it with itself. The
/// <see cref="IEmbeddingModel"/> it hands out is a non-owning view (still an <see cref="EmbeddingModel"/>) whose
/// <c>Dispose</c> does nothing, so a consumer that disposes what it resolved cannot break the others. Views a consumer
/// makes itself with <see cref="EmbeddingModel.WithOptions"/> are its own to dispose.
/// </para>
/// <para>
/// The returned <see cref="EmbeddingGeneratorBuilder{TInput, TEmbedding}"/> adds middleware to the registered generator
/// (<c>.UseDistributedCache()</c>, <c>.UseOpenTelemetry()</c>, <c>.UseLogging()</c>, in that order from the outside in).
/// Its first stage, ahead of anything added, writes the model's settings (model id, checkpoint, dtype, pooling, prompt,
/// normalisation), the call's role and its dimensions into the options, so caches key on them.
/// </para>
/// </remarks>
public static class EmbeddingServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="IEmbeddingModel"/>, loaded on first use, and an
    /// <see cref="IEmbeddingGenerator{String, Embedding}"/> (also as <see cref="IEmbeddingGenerator"/>) over it that
    /// embeds as <see cref="LastTokenEmbeddingsOptions.GeneratorRole"/>. Options are validated at start-up (with a host)
    /// and before loading.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the model directory and options.</param>
    /// <returns>The generator's pipeline builder, for adding middleware.</returns>
    public static EmbeddingGeneratorBuilder<string, Embedding<float>> AddLastTokenEmbeddings(this IServiceCollection services, Action<LastTokenEmbeddingsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var name = Options.Options.DefaultName;
        AddOptions(services, name, configure);
        services.AddSingleton(sp => new ContainerOwnedModel(Load(sp, name)));
        services.AddSingleton<IEmbeddingModel>(sp => sp.GetRequiredService<ContainerOwnedModel>().SharedView);
        return services.AddEmbeddingGenerator(sp => CreateGenerator(sp.GetRequiredService<IEmbeddingModel>(), Get(sp, name).GeneratorRole))
            .UseModelSettingsInOptions();
    }

    /// <summary>
    /// Registers a keyed singleton <see cref="IEmbeddingModel"/> and <see cref="IEmbeddingGenerator{String, Embedding}"/>,
    /// so one application can hold several models (resolve with <c>[FromKeyedServices(key)]</c> or <c>GetRequiredKeyedService</c>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="key">The service key; also the name of the options instance.</param>
    /// <param name="configure">Sets the model directory and options.</param>
    /// <returns>The keyed generator's pipeline builder, for adding middleware.</returns>
    public static EmbeddingGeneratorBuilder<string, Embedding<float>> AddKeyedLastTokenEmbeddings(this IServiceCollection services, string key,
        Action<LastTokenEmbeddingsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(configure);
        AddOptions(services, key, configure);
        services.AddKeyedSingleton(key, (sp, _) => new ContainerOwnedModel(Load(sp, key)));
        services.AddKeyedSingleton<IEmbeddingModel>(key, (sp, _) => sp.GetRequiredKeyedService<ContainerOwnedModel>(key).SharedView);
        return services.AddKeyedEmbeddingGenerator(key, sp => CreateGenerator(sp.GetRequiredKeyedService<IEmbeddingModel>(key), Get(sp, key).GeneratorRole))
            .UseModelSettingsInOptions();
    }

    /// <summary>
    /// Registers one more generator over an already registered model, under its own key and with its own default role
    /// and middleware: for example <c>"query"</c> and <c>"document"</c> generators over one E5 or Qwen3-Embedding model.
    /// Both share the model and its forward passes; calls of either role are batched together.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The generator's key, e.g. "document".</param>
    /// <param name="role">Role of inputs whose options name none.</param>
    /// <param name="modelKey">The key of the model's registration; <see langword="null"/> for <see cref="AddLastTokenEmbeddings"/>'s.</param>
    /// <returns>The keyed generator's pipeline builder, for adding middleware.</returns>
    public static EmbeddingGeneratorBuilder<string, Embedding<float>> AddKeyedLastTokenEmbeddingGenerator(this IServiceCollection services, object serviceKey,
        TextRole role, string? modelKey = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(serviceKey);
        if (!Enum.IsDefined(role)) throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown role.");
        return services.AddKeyedEmbeddingGenerator(serviceKey, sp => CreateGenerator(
                modelKey is null ? sp.GetRequiredService<IEmbeddingModel>() : sp.GetRequiredKeyedService<IEmbeddingModel>(modelKey), role))
            .UseModelSettingsInOptions();
    }

    private static void AddOptions(IServiceCollection services, string name, Action<LastTokenEmbeddingsOptions> configure)
    {
        services.AddOptions<LastTokenEmbeddingsOptions>(name).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LastTokenEmbeddingsOptions>, LastTokenEmbeddingsOptionsValidator>());
    }

    private static LastTokenEmbeddingsOptions Get(IServiceProvider services, string name) =>
        services.GetRequiredService<IOptionsMonitor<LastTokenEmbeddingsOptions>>().Get(name);

    // The generator does not own the model: the container does (see ContainerOwnedModel).
    private static LastTokenEmbeddingGenerator CreateGenerator(IEmbeddingModel model, TextRole role) => new(model, role);

    private static EmbeddingModel Load(IServiceProvider services, string name)
    {
        var options = Get(services, name); // throws OptionsValidationException listing every problem
        return EmbeddingModel.Load(options.ModelDirectory, options.Embedding, options.Load);
    }
}
