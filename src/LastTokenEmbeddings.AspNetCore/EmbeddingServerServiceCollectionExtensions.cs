using LastTokenEmbeddings.AspNetCore;
using LastTokenEmbeddings.AspNetCore.Endpoints;
using LastTokenEmbeddings.AspNetCore.Http;
using LastTokenEmbeddings.AspNetCore.Serving;
using LastTokenEmbeddings.Embeddings;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the embedding server (endpoints mapped with <c>MapEmbeddings</c>).</summary>
public static class EmbeddingServerServiceCollectionExtensions
{
    /// <summary>
    /// Registers the embedding server over the <see cref="IEmbeddingModel"/> already registered (for example by
    /// <c>AddLastTokenEmbeddings</c>). The model is loaded while the host starts; options are validated then too.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets limits, the API key and defaults; <see langword="null"/> keeps the defaults.</param>
    public static IServiceCollection AddEmbeddingServer(this IServiceCollection services, Action<EmbeddingServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<EmbeddingServerOptions>();
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EmbeddingServerOptions>, EmbeddingServerOptionsValidator>());
        services.TryAddSingleton<ServerMetrics>();
        services.TryAddSingleton<AdmissionGate>();
        services.TryAddSingleton(sp => new ServedModel(sp.GetRequiredService<IEmbeddingModel>(), sp.GetRequiredService<IOptions<EmbeddingServerOptions>>()));
        services.TryAddSingleton<EndpointRunner>();
        services.TryAddSingleton<OpenAIEmbeddingsEndpoint>();
        services.TryAddSingleton<TeiEmbedEndpoint>();
        services.TryAddSingleton<TeiTokenizeEndpoint>();
        services.TryAddSingleton(sp => new TeiRerankEndpoint(sp.GetRequiredService<EndpointRunner>(),
            sp.GetService<LastTokenEmbeddings.Reranking.IReranker>() ?? throw new InvalidOperationException("POST /rerank needs an IReranker registered (e.g. services.AddSingleton<IReranker>(Reranker.Load(...))).")));
        services.TryAddSingleton<InfoEndpoints>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Hosting.IHostedService, ModelWarmup>());
        return services;
    }

    /// <summary>
    /// Registers the embedding server over <paramref name="model"/>, which the caller keeps owning (it is not
    /// disposed with the container).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="model">The model to serve, e.g. from <c>EmbeddingModel.LoadAsync</c>.</param>
    /// <param name="configure">Sets limits, the API key and defaults; <see langword="null"/> keeps the defaults.</param>
    public static IServiceCollection AddEmbeddingServer(this IServiceCollection services, IEmbeddingModel model, Action<EmbeddingServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(model);
        services.AddSingleton(model);
        return services.AddEmbeddingServer(configure);
    }
}
