using LastTokenEmbeddings.AspNetCore.Endpoints;
using LastTokenEmbeddings.AspNetCore.Http;
using LastTokenEmbeddings.AspNetCore.Serving;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the embedding server's routes (register it first with <c>AddEmbeddingServer</c>).</summary>
public static class EmbeddingEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps OpenAI's <c>POST /v1/embeddings</c> (also <c>/embeddings</c>) and <c>GET /v1/models</c>, TEI's
    /// <c>POST /embed</c> (also <c>POST /</c>), <c>POST /tokenize</c>, <c>POST /rerank</c> (when an <c>IReranker</c> is registered), <c>GET /info</c> and <c>GET /health</c>, and Prometheus
    /// <c>GET /metrics</c>. Map it under a prefix with <c>app.MapGroup("/prefix").MapEmbeddings()</c>.
    /// </summary>
    /// <param name="endpoints">The application or a route group.</param>
    /// <returns>The group holding the routes, for conventions such as CORS or rate limiting.</returns>
    /// <exception cref="InvalidOperationException"><c>AddEmbeddingServer</c> was not called.</exception>
    public static RouteGroupBuilder MapEmbeddings(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<EndpointRunner>() is null)
            throw new InvalidOperationException("The embedding server is not registered: call services.AddEmbeddingServer(...) before MapEmbeddings().");
        var group = endpoints.MapGroup("");
        group.MapPost("/v1/embeddings", Handle<OpenAIEmbeddingsEndpoint>((e, c) => e.HandleAsync(c)));
        group.MapPost("/embeddings", Handle<OpenAIEmbeddingsEndpoint>((e, c) => e.HandleAsync(c)));
        group.MapGet("/v1/models", Handle<InfoEndpoints>((e, c) => e.ModelsAsync(c)));
        group.MapPost("/embed", Handle<TeiEmbedEndpoint>((e, c) => e.HandleAsync(c)));
        group.MapPost("/", Handle<TeiEmbedEndpoint>((e, c) => e.HandleAsync(c))); // TEI serves an embedding model's /embed at the root too
        group.MapPost("/tokenize", Handle<TeiTokenizeEndpoint>((e, c) => e.HandleAsync(c)));
        // TEI's /rerank, where a reranker is registered besides the embedding model.
        if (endpoints.ServiceProvider.GetService<IServiceProviderIsService>()?.IsService(typeof(LastTokenEmbeddings.Reranking.IReranker)) == true)
            group.MapPost("/rerank", Handle<TeiRerankEndpoint>((e, c) => e.HandleAsync(c)));
        group.MapGet("/info", Handle<InfoEndpoints>((e, c) => e.InfoAsync(c)));
        group.MapGet("/health", Handle<InfoEndpoints>((e, c) => e.HealthAsync(c)));
        group.MapMetrics("/metrics", endpoints.ServiceProvider.GetRequiredService<ServerMetrics>().Registry);
        return group;
    }

    // Plain request delegates: the endpoints read and validate bodies themselves, so every error has the API's shape.
    private static RequestDelegate Handle<TEndpoint>(Func<TEndpoint, HttpContext, Task> handle)
        where TEndpoint : notnull =>
        context => handle(context.RequestServices.GetRequiredService<TEndpoint>(), context);
}
