using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace LastTokenEmbeddings.AspNetCore.Http;

/// <summary>Writes JSON responses straight to the response body, flushing as it goes so large vector lists stream.</summary>
internal static class JsonResponse
{
    private const int FlushThresholdBytes = 64 * 1024;

    /// <summary>
    /// Escapes only what JSON requires (quotes, backslash, control characters): these bodies are never embedded in
    /// HTML, and token texts such as <c>&lt;s&gt;</c> or CJK should read as they are.
    /// </summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes a 200 JSON response with <paramref name="write"/>; <paramref name="write"/> may await <see cref="FlushIfFullAsync"/>.</summary>
    public static async Task WriteAsync(HttpResponse response, Func<Utf8JsonWriter, Task> write)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.Body, WriterOptions);
        await write(writer).ConfigureAwait(false);
        await writer.FlushAsync(response.HttpContext.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Sends what has been written so far once it passes a threshold.</summary>
    public static ValueTask FlushIfFullAsync(Utf8JsonWriter writer, CancellationToken cancellationToken) =>
        writer.BytesPending > FlushThresholdBytes ? new ValueTask(writer.FlushAsync(cancellationToken)) : ValueTask.CompletedTask;

    /// <summary>A vector as a JSON number array (non-finite values, which JSON cannot hold, as null).</summary>
    public static void WriteFloats(Utf8JsonWriter writer, ReadOnlySpan<float> vector)
    {
        writer.WriteStartArray();
        foreach (var value in vector)
        {
            if (float.IsFinite(value))
                writer.WriteNumberValue(value);
            else
                writer.WriteNullValue();
        }
        writer.WriteEndArray();
    }

    /// <summary>A vector as base64 of its little-endian float32 bytes (OpenAI's <c>encoding_format: base64</c>).</summary>
    public static void WriteBase64Floats(Utf8JsonWriter writer, float[] vector)
    {
        if (BitConverter.IsLittleEndian)
        {
            writer.WriteBase64StringValue(MemoryMarshal.AsBytes(vector.AsSpan()));
            return;
        }
        var bytes = new byte[vector.Length * sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), vector[i]);
        writer.WriteBase64StringValue(bytes);
    }
}
