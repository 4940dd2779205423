using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LastTokenEmbeddings.AspNetCore.Serving;

/// <summary>
/// Loads the model (and a registered reranker) while the host starts, before the server listens, so the first request does not pay for the
/// load and a readiness probe on <c>/health</c> only succeeds once the model can serve.
/// </summary>
internal sealed class ModelWarmup(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        Task.Run(() =>
        {
            services.GetRequiredService<ServedModel>();
            services.GetService<LastTokenEmbeddings.Reranking.IReranker>(); // a reranker for /rerank, when registered
        }, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
