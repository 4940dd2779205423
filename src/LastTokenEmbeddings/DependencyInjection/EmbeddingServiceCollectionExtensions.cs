using LastTokenEmbeddings.AI;
using LastTokenEmbeddings.DependencyInjection;
using LastTokenEmbeddings.Embeddings;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers decoder embedding models with dependency injection.</summary>
public static class EmbeddingServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="IEmbeddingModel"/> and <see cref="IEmbeddingGenerator{String, Embedding}"/>
    /// loaded on first use. Options are validated at start-up (with a host) and before loading.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the model directory and options.</param>
    public static IServiceCollection AddLastTokenEmbeddings(this IServiceCollection services, Action<LastTokenEmbeddingsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        AddOptions(services, Options.Options.DefaultName, configure);
        services.AddSingleton<IEmbeddingModel>(sp => Create(sp, Options.Options.DefaultName));
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp =>
            new LastTokenEmbeddingGenerator(sp.GetRequiredService<IEmbeddingModel>(), Get(sp, Options.Options.DefaultName).GeneratorRole));
        return services;
    }

    /// <summary>
    /// Registers a keyed singleton <see cref="IEmbeddingModel"/> and <see cref="IEmbeddingGenerator{String, Embedding}"/>,
    /// so one application can hold several models (resolve with <c>[FromKeyedServices(key)]</c> or <c>GetRequiredKeyedService</c>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="key">The service key; also the name of the options instance.</param>
    /// <param name="configure">Sets the model directory and options.</param>
    public static IServiceCollection AddKeyedLastTokenEmbeddings(this IServiceCollection services, string key, Action<LastTokenEmbeddingsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(configure);
        AddOptions(services, key, configure);
        services.AddKeyedSingleton<IEmbeddingModel>(key, (sp, _) => Create(sp, key));
        services.AddKeyedSingleton<IEmbeddingGenerator<string, Embedding<float>>>(key, (sp, _) =>
            new LastTokenEmbeddingGenerator(sp.GetRequiredKeyedService<IEmbeddingModel>(key), Get(sp, key).GeneratorRole));
        return services;
    }

    private static void AddOptions(IServiceCollection services, string name, Action<LastTokenEmbeddingsOptions> configure)
    {
        services.AddOptions<LastTokenEmbeddingsOptions>(name).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LastTokenEmbeddingsOptions>, LastTokenEmbeddingsOptionsValidator>());
    }

    private static LastTokenEmbeddingsOptions Get(IServiceProvider services, string name) =>
        services.GetRequiredService<IOptionsMonitor<LastTokenEmbeddingsOptions>>().Get(name);

    private static EmbeddingModel Create(IServiceProvider services, string name)
    {
        var options = Get(services, name); // throws OptionsValidationException listing every problem
        return EmbeddingModel.Load(options.ModelDirectory, options.Embedding, options.Load);
    }
}
