/* Links every pinned dependency from build/musl statically and prints their versions, so a
 * broken prefix fails at link time and a libcurl without mbedtls, HTTP/2 or unix sockets
 * fails at run time (exit 1). */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <mbedtls/version.h>
#include <nghttp2/nghttp2.h>
#include <yaml.h>

int
main(void)
{
	const curl_version_info_data *ci = curl_version_info(CURLVERSION_NOW);
	const int want = CURL_VERSION_SSL | CURL_VERSION_HTTP2 | CURL_VERSION_UNIX_SOCKETS;
	char mbed[18];

	mbedtls_version_get_string(mbed);
	printf("curl     %s\n", curl_version());
	printf("mbedtls  %s\n", mbed);
	printf("nghttp2  %s\n", nghttp2_version(0)->version_str);
	printf("libyaml  %s\n", yaml_get_version_string());
	printf("cjson    %s\n", cJSON_Version());
	if ((ci->features & want) != want || ci->ssl_version == NULL ||
	    strstr(ci->ssl_version, "mbedTLS") == NULL) {
		fprintf(stderr, "depcheck: libcurl lacks mbedTLS, HTTP/2 or unix sockets\n");
		return 1;
	}
	return 0;
}
