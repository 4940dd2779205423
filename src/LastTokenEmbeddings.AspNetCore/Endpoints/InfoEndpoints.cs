using System.Reflection;
using LastTokenEmbeddings.AspNetCore.Http;
using LastTokenEmbeddings.AspNetCore.Serving;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace LastTokenEmbeddings.AspNetCore.Endpoints;

/// <summary>
/// The read-only routes: TEI's <c>GET /info</c> and <c>GET /health</c>, and OpenAI's <c>GET /v1/models</c>.
/// </summary>
internal sealed class InfoEndpoints(EndpointRunner runner, ServedModel served, IHostApplicationLifetime lifetime)
{
    private static readonly string Version =
        typeof(InfoEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static EndpointSpec InfoSpec { get; } = new("info", ApiDialect.Tei);

    public static EndpointSpec HealthSpec { get; } = new("health", ApiDialect.Tei, RequiresApiKey: false, Probe: true);

    public static EndpointSpec ModelsSpec { get; } = new("openai_models", ApiDialect.OpenAI);

    /// <summary>TEI's info fields, plus <c>dimensions</c>, <c>normalize</c>, <c>prompt_names</c> and <c>cross_request_batching</c>.</summary>
    public Task InfoAsync(HttpContext context) => runner.RunAsync(context, InfoSpec, (ctx, _) =>
        JsonResponse.WriteAsync(ctx.Response, writer =>
        {
            var options = runner.Options;
            writer.WriteStartObject();
            writer.WriteString("model_id", served.Model.ModelId);
            writer.WriteNull("model_sha");
            writer.WriteString("model_dtype", served.DType);
            writer.WriteString("served_model_name", served.ServedName);
            writer.WriteStartObject("model_type");
            writer.WriteStartObject("embedding");
            writer.WriteString("pooling", served.PoolingName);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteNumber("max_concurrent_requests", options.MaxConcurrentRequests);
            writer.WriteNumber("max_input_length", served.Model.MaxTokens);
            WriteOptionalNumber(writer, "max_batch_tokens", served.MaxBatchTokens);
            WriteOptionalNumber(writer, "max_batch_requests", served.MaxBatchSize);
            writer.WriteNumber("max_client_batch_size", options.MaxClientBatchSize);
            writer.WriteBoolean("auto_truncate", options.AutoTruncate);
            writer.WriteNumber("tokenization_workers", Environment.ProcessorCount);
            writer.WriteString("version", Version);
            writer.WriteNull("sha");
            if (Environment.GetEnvironmentVariable("LTE_DOCKER_LABEL") is { Length: > 0 } label)
                writer.WriteString("docker_label", label);
            else
                writer.WriteNull("docker_label");
            writer.WriteNumber("dimensions", served.Model.Dimensions);
            writer.WriteBoolean("normalize", served.Model.Normalize);
            writer.WriteStartArray("prompt_names");
            foreach (var name in (served.DeclaredPrompts?.Keys ?? []).Order(StringComparer.Ordinal))
                writer.WriteStringValue(name);
            writer.WriteEndArray();
            writer.WriteBoolean("cross_request_batching", options.CrossRequestBatching);
            writer.WriteEndObject();
            return Task.CompletedTask;
        }));

    /// <summary>200 with an empty body while serving; 503 once the host is stopping (so load balancers drain it first).</summary>
    public Task HealthAsync(HttpContext context) => runner.RunAsync(context, HealthSpec, (ctx, _) =>
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
            throw new ApiException(ApiErrorKind.Unavailable, "unhealthy: shutting down");
        ctx.Response.StatusCode = StatusCodes.Status200OK;
        return Task.CompletedTask;
    });

    /// <summary>OpenAI's model list, holding the one served model.</summary>
    public Task ModelsAsync(HttpContext context) => runner.RunAsync(context, ModelsSpec, (ctx, _) =>
        JsonResponse.WriteAsync(ctx.Response, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            writer.WriteStartObject();
            writer.WriteString("id", served.ServedName);
            writer.WriteString("object", "model");
            writer.WriteNumber("created", 0);
            writer.WriteString("owned_by", "lasttokenembeddings");
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
            return Task.CompletedTask;
        }));

    private static void WriteOptionalNumber(System.Text.Json.Utf8JsonWriter writer, string name, int? value)
    {
        if (value is { } number)
            writer.WriteNumber(name, number);
        else
            writer.WriteNull(name);
    }
}
