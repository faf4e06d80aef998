#include <iostream>
int main() { std::cout << "sf-actors " SF_VERSION "\n"; }
