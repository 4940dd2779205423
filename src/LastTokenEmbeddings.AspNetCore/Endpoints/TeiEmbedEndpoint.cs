using LastTokenEmbeddings.AspNetCore.Http;
using LastTokenEmbeddings.AspNetCore.Serving;
using Microsoft.AspNetCore.Http;

namespace LastTokenEmbeddings.AspNetCore.Endpoints;

/// <summary>
/// TEI's <c>POST /embed</c>: <c>inputs</c> (string, strings, token ids), <c>normalize</c> (default true),
/// <c>truncate</c> (default: the server's <see cref="EmbeddingServerOptions.AutoTruncate"/>), <c>truncation_direction</c>,
/// <c>prompt_name</c>, <c>dimensions</c>, plus the <c>input_type</c> extension. The response is always a list of vectors.
/// </summary>
internal sealed class TeiEmbedEndpoint(EndpointRunner runner, ServedModel served)
{
    public static EndpointSpec Spec { get; } = new("embed", ApiDialect.Tei);

    public Task HandleAsync(HttpContext context) => runner.RunAsync(context, Spec, HandleCoreAsync);

    private async Task HandleCoreAsync(HttpContext context, RequestTrace trace)
    {
        var options = runner.Options;
        var aborted = context.RequestAborted;
        using var document = await JsonRequest.ReadObjectAsync(context.Request, options.MaxRequestBodyBytes, aborted).ConfigureAwait(false);
        var body = document.RootElement;
        var inputs = EmbeddingInput.Parse(JsonFields.Required(body, "inputs"), "inputs", options.MaxClientBatchSize);
        var settings = new EmbedSettings(
            Role: RequestFields.Role(body, context.Request, options.DefaultInputType),
            PromptName: RequestFields.PromptName(body, served.DeclaredPrompts),
            Truncate: JsonFields.OptionalBool(body, "truncate") ?? options.AutoTruncate,
            Direction: RequestFields.Direction(body),
            Normalize: JsonFields.OptionalBool(body, "normalize") ?? true,
            Dimensions: JsonFields.OptionalPositiveInt(body, "dimensions"));

        EmbedOutcome outcome;
        using (runner.Admit())
            outcome = await served.EmbedAsync(inputs, settings, aborted).ConfigureAwait(false);

        runner.RecordEmbedding(trace, inputs.Length, outcome.PromptTokens);
        trace.WriteComputeHeaders(context.Response, inputs.Sum(input => (long)input.Length));
        await JsonResponse.WriteAsync(context.Response, async writer =>
        {
            writer.WriteStartArray();
            foreach (var vector in outcome.Vectors)
            {
                JsonResponse.WriteFloats(writer, vector);
                await JsonResponse.FlushIfFullAsync(writer, aborted).ConfigureAwait(false);
            }
            writer.WriteEndArray();
        }).ConfigureAwait(false);
    }
}
